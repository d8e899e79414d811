// Checks reads of several keys at one revision (List, and serializable Get) against the per-key
// history. The approach, and exactly what it covers:
//
// A read answers revision R. The acknowledged writes carry their revisions too, and the index first
// checks that those revisions are a legal order (distinct, and increasing with real time). Given
// that order, the state of key k "at R" is fixed by the last acknowledged write of k at or below R,
// up to writes whose outcome is unknown (info). For every key the read covers:
//   - an entry (value v, version n, mod_revision m) must have m <= R; no acknowledged write of k may
//     lie in (m, R] (it would have overwritten the entry: a stale read); the acknowledged write at
//     m, if any, must be a put of k writing exactly v at version n; if none is acknowledged at m,
//     an unacknowledged put of v to k, invoked before the read returned, must exist (else phantom);
//   - absence needs the last acknowledged write at or below R to be a delete (or none), or an
//     unacknowledged delete of k invoked before the read returned.
// And R itself must fit real time: no acknowledged write invoked after the read returned may be at
// or below R (no read from the future); for a LINEARIZABLE read, every write acknowledged before it
// was invoked must be at or below R, and linearizable reads that follow one another in real time
// must not answer decreasing revisions.
// Not checked: versions of unacknowledged writes beyond their value (the per-key search does that
// for gets); reads of keys outside the workload's keys; a list cut by its page limit is judged
// only on the entries it returned.
import type { Operation } from "./history.ts";
import type { Finding, KvSeen, SnapshotRead } from "./observations.ts";
import { describeSeen, RevisionIndex } from "./revision-index.ts";

function where(r: SnapshotRead): string {
  const what = r.kind === "list" ? `list(${JSON.stringify(r.prefix)})` : `get(${r.prefix})`;
  return `${r.consistency} ${what} #${r.id} at ${r.node} [${r.callUs}, ${r.returnUs}] µs answered revision ${r.revision}`;
}

/** Keys the read says something about: its entries, and the absent keys of a complete answer. */
function coveredKeys(r: SnapshotRead, keys: readonly string[]): string[] {
  if (!r.complete) return r.kvs.map((kv) => kv.key);
  const inRange = keys.filter((k) => (r.kind === "list" ? k.startsWith(r.prefix) : k === r.prefix));
  return [...new Set([...inRange, ...r.kvs.map((kv) => kv.key)])];
}

function checkEntry(r: SnapshotRead, kv: KvSeen, index: RevisionIndex): Finding | undefined {
  const check = r.consistency === "linearizable" ? "list" : "serializable";
  const at = where(r);
  if (kv.modRevision > r.revision) return { check, kind: "entry-after-revision", detail: `${at}: ${describeSeen(kv)} was modified after the read's revision` };
  const last = index.lastAckedAtOrBelow(kv.key, r.revision);
  if (last !== undefined && last.revision > kv.modRevision) {
    return { check, kind: "stale-entry", detail: `${at}: ${describeSeen(kv)}, but op #${last.op.opId} (${last.kind}) was acknowledged at revision ${last.revision} <= ${r.revision}` };
  }
  const atMod = index.byRevision.get(kv.modRevision);
  if (atMod !== undefined) {
    if (atMod.key === kv.key && atMod.kind === "put" && atMod.value === kv.value && atMod.version === kv.version) return undefined;
    return { check, kind: "wrong-entry", detail: `${at}: ${describeSeen(kv)}, but revision ${kv.modRevision} is op #${atMod.op.opId} (${atMod.kind} ${atMod.key}${atMod.kind === "put" ? ` ${JSON.stringify(atMod.value)} v${atMod.version}` : ""})` };
  }
  if (index.unackedPutsOf(kv.key, kv.value, r.returnUs).length > 0) return undefined;
  const put = index.anyPutOf(kv.key, kv.value);
  return { check, kind: "phantom-entry", detail: `${at}: ${describeSeen(kv)} ${put === undefined ? "was never written" : `can only be op #${put.opId} (${put.status}), which cannot have made it`}` };
}

function checkAbsent(r: SnapshotRead, key: string, index: RevisionIndex): Finding | undefined {
  const last = index.lastAckedAtOrBelow(key, r.revision);
  if (last === undefined || last.kind === "delete") return undefined;
  if (index.unackedDeletesOf(key, r.returnUs).length > 0) return undefined;
  const check = r.consistency === "linearizable" ? "list" : "serializable";
  return { check, kind: "missing-entry", detail: `${where(r)}: ${key} is absent, but op #${last.op.opId} put it at revision ${last.revision} and no delete can have followed` };
}

/** The per-key and real-time checks of one read. */
export function checkSnapshotRead(r: SnapshotRead, keys: readonly string[], index: RevisionIndex): Finding[] {
  const findings: Finding[] = [];
  const check = r.consistency === "linearizable" ? "list" : "serializable";
  const future = index.minRevisionInvokedAfter(r.returnUs);
  if (future <= r.revision) findings.push({ check, kind: "revision-from-future", detail: `${where(r)}, but a write invoked after it returned was acknowledged at revision ${future}` });
  if (r.consistency === "linearizable") {
    const past = index.maxRevisionReturnedBefore(r.callUs);
    if (past > r.revision) findings.push({ check, kind: "stale-revision", detail: `${where(r)}, but a write acknowledged before it was invoked is at revision ${past}` });
  }
  const entries = new Map(r.kvs.map((kv) => [kv.key, kv]));
  for (const key of coveredKeys(r, keys)) {
    const kv = entries.get(key);
    const f = kv === undefined ? checkAbsent(r, key, index) : checkEntry(r, kv, index);
    if (f !== undefined) findings.push(f);
  }
  return findings;
}

/**
 * Real-time order of reads: among `reads` (sorted by call), one invoked after another returned
 * must not answer a lower revision, nor an older modification of a key both show.
 */
export function checkMonotoneReads(reads: readonly SnapshotRead[], check: Finding["check"], kind: string): Finding[] {
  const findings: Finding[] = [];
  const byReturn = [...reads].sort((a, b) => a.returnUs - b.returnUs);
  let j = 0;
  let maxRead: SnapshotRead | undefined;
  const latestMod = new Map<string, { modRevision: number; read: SnapshotRead }>();
  for (const r of [...reads].sort((a, b) => a.callUs - b.callUs)) {
    for (; j < byReturn.length && byReturn[j].returnUs < r.callUs; j++) {
      const done = byReturn[j];
      if (maxRead === undefined || done.revision > maxRead.revision) maxRead = done;
      for (const kv of done.kvs) if ((latestMod.get(kv.key)?.modRevision ?? -1) < kv.modRevision) latestMod.set(kv.key, { modRevision: kv.modRevision, read: done });
    }
    if (maxRead !== undefined && r.revision < maxRead.revision) {
      findings.push({ check, kind, detail: `${where(r)}, after ${where(maxRead)}` });
      continue;
    }
    for (const kv of r.kvs) {
      const seen = latestMod.get(kv.key);
      if (seen !== undefined && kv.modRevision < seen.modRevision) {
        findings.push({ check, kind, detail: `${where(r)} shows ${describeSeen(kv)}, after ${where(seen.read)} showed ${kv.key} modified at ${seen.modRevision}` });
        break;
      }
    }
  }
  return findings;
}

export interface SnapshotCheckResult {
  listsChecked: number;
  serializableChecked: number;
  findings: Finding[];
}

/**
 * Every read against the index; linearizable lists monotone in real time across the cluster;
 * serializable reads (gets and lists) monotone in real time per replica (node incarnation).
 */
export function checkSnapshotReads(ops: readonly Operation[], reads: readonly SnapshotRead[], keys: readonly string[], index = new RevisionIndex(ops)): SnapshotCheckResult {
  const findings: Finding[] = [];
  for (const r of reads) findings.push(...checkSnapshotRead(r, keys, index));
  const linearizable = reads.filter((r) => r.consistency === "linearizable");
  findings.push(...checkMonotoneReads(linearizable, "list", "list-revision-backwards"));
  const perReplica = new Map<string, SnapshotRead[]>();
  for (const r of reads) {
    if (r.consistency !== "serializable") continue;
    const id = `${r.node}#${r.incarnation}`;
    (perReplica.get(id) ?? perReplica.set(id, []).get(id)!).push(r);
  }
  for (const rs of perReplica.values()) findings.push(...checkMonotoneReads(rs, "serializable", "serializable-backwards"));
  return { listsChecked: reads.filter((r) => r.kind === "list").length, serializableChecked: reads.length - linearizable.length, findings };
}

// Log compaction: snapshot (fold decided slots into the application's snapshot) and trim (drop
// decided slots). With a SnapshotSpec, trim snapshots instead, so that a lagging or new node can
// still be synced. Trim without one is allowed only once every member has decided the slots.
import { ballotEquals } from "../ballot.ts";
import { CompactionError } from "../errors.ts";
import type { Compaction } from "../messages.ts";
import type { SequencePaxos } from "./sequence-paxos.ts";

/** Lowest decidedIdx the leader can vouch for across all members (0 if one is unknown). */
export function decidedEverywhereIdx<T, S>(sp: SequencePaxos<T, S>): number {
  const ls = sp.leader;
  if (ls === undefined || sp.phase !== "accept") return 0;
  let min = sp.decidedIdx;
  for (const pid of sp.peers) {
    const p = ls.progress.get(pid);
    if (p === undefined || !p.acked) return 0;
    min = Math.min(min, p.acceptedIdx, p.decidedIdxSent);
  }
  return min;
}

export function trim<T, S>(sp: SequencePaxos<T, S>, idx: number | undefined): void {
  if (!sp.isLeaderInAccept()) throw new CompactionError("not-leader", `trim must be called on the leader (node ${sp.currentLeader() ?? "unknown"})`);
  const everywhere = decidedEverywhereIdx(sp);
  const target = idx ?? everywhere;
  if (target > everywhere) throw new CompactionError("not-decided", `cannot trim to ${target}: only slots below ${everywhere} are decided on every member`);
  compactLocally(sp, "trim", target);
  for (const to of sp.peers) sp.send({ kind: "Compaction", from: sp.pid, to, configurationId: sp.config.configurationId, n: sp.leader!.n, op: "trim", idx: target });
}

export function snapshot<T, S>(sp: SequencePaxos<T, S>, idx: number | undefined, localOnly: boolean): void {
  if (sp.opts.snapshot === undefined) throw new CompactionError("no-snapshot-spec", "snapshot() needs a SnapshotSpec in the OmniPaxos options");
  const target = idx ?? sp.decidedIdx;
  if (target > sp.decidedIdx) throw new CompactionError("not-decided", `cannot snapshot to ${target}: decidedIdx is ${sp.decidedIdx}`);
  compactLocally(sp, "snapshot", target);
  if (!localOnly && sp.isLeaderInAccept()) {
    for (const to of sp.peers) sp.send({ kind: "Compaction", from: sp.pid, to, configurationId: sp.config.configurationId, n: sp.leader!.n, op: "snapshot", idx: target });
  }
}

/** Compacts [compactedIdx, idx) (idx <= decidedIdx). */
function compactLocally<T, S>(sp: SequencePaxos<T, S>, op: "trim" | "snapshot", idx: number): void {
  if (idx <= sp.compactedIdx) return;
  const spec = sp.opts.snapshot;
  if (op === "trim" && spec === undefined) {
    sp.storage.trim(idx);
    sp.compactedIdx = idx;
    return;
  }
  if (spec === undefined) return;
  const whole = spec.snapshotOfPrefix?.(idx);
  if (whole !== undefined) {
    sp.storage.setSnapshot(idx, whole);
    sp.compactedIdx = idx;
    return;
  }
  const base = sp.storage.getSnapshot();
  if (base === undefined && sp.compactedIdx > 0) {
    throw new CompactionError("already-compacted", `slots below ${sp.compactedIdx} were trimmed without a snapshot; cannot build one`);
  }
  const delta = spec.create(sp.storage.getEntries(sp.compactedIdx, idx), sp.compactedIdx);
  const s = base === undefined ? delta : spec.merge(base, delta);
  sp.storage.setSnapshot(idx, s);
  sp.compactedIdx = idx;
}

/** Follower side: compact as the leader asked, but never past our own decidedIdx. */
export function handleCompaction<T, S>(sp: SequencePaxos<T, S>, msg: Compaction): void {
  if (!ballotEquals(msg.n, sp.promise)) return;
  const target = Math.min(msg.idx, sp.decidedIdx);
  try {
    compactLocally(sp, msg.op, target);
  } catch (e) {
    if (!(e instanceof CompactionError)) throw e; // a follower that cannot snapshot keeps its log
  }
}

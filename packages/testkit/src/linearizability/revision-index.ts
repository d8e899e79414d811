// The acknowledged writes of a history indexed by the revision the server answered, and the
// candidate writers of every (key, value). The wider checks judge reads and watch events against
// it; revisionOrderFindings checks first that those revisions are themselves a legal order.
import type { Operation } from "./history.ts";
import type { Finding, KvSeen } from "./observations.ts";

/** An ok put or delete whose answer carried its revision. */
export interface AckedWrite {
  op: Operation;
  key: string;
  revision: number;
  kind: "put" | "delete";
  /** put: the value and the version it made; delete: "" and 0. */
  value: string;
  version: number;
}

export class RevisionIndex {
  readonly byRevision = new Map<number, AckedWrite>();
  /** Per key, in revision order. */
  readonly byKey = new Map<string, AckedWrite[]>();
  /** Every put or delete op (any status) per key, to find the writer of a value nobody acknowledged. */
  private readonly writesOfKey = new Map<string, Operation[]>();
  readonly findings: Finding[] = [];
  /** Acked writes sorted by return time, with the running max of their revisions. */
  private readonly byReturn: { returnUs: number; maxRevision: number }[] = [];
  /** Acked writes sorted by call time, with the running min of revisions from the end. */
  private readonly byCall: { callUs: number; minRevisionFromHere: number }[] = [];

  constructor(ops: readonly Operation[]) {
    for (const op of ops) {
      if (op.input.f === "get") continue;
      const key = op.input.key;
      (this.writesOfKey.get(key) ?? this.writesOfKey.set(key, []).get(key)!).push(op);
      const out = op.output;
      if (op.status !== "ok" || out === null || (out.kind !== "written" && out.kind !== "deleted") || out.revision === undefined) continue;
      const w: AckedWrite = out.kind === "written"
        ? { op, key, revision: out.revision, kind: "put", value: op.input.f === "put" ? op.input.value : "", version: out.version }
        : { op, key, revision: out.revision, kind: "delete", value: "", version: 0 };
      const twin = this.byRevision.get(w.revision);
      if (twin !== undefined) this.findings.push({ check: "revisions", kind: "duplicate-revision", detail: `ops #${twin.op.opId} and #${op.opId} were both acknowledged at revision ${w.revision}` });
      else this.byRevision.set(w.revision, w);
      (this.byKey.get(key) ?? this.byKey.set(key, []).get(key)!).push(w);
    }
    for (const list of this.byKey.values()) list.sort((a, b) => a.revision - b.revision);
    const acked = [...this.byRevision.values()];
    let max = 0;
    for (const w of [...acked].sort((a, b) => a.op.returnUs - b.op.returnUs)) this.byReturn.push({ returnUs: w.op.returnUs, maxRevision: (max = Math.max(max, w.revision)) });
    const calls = [...acked].sort((a, b) => a.op.callUs - b.op.callUs);
    let min = Infinity;
    const mins = calls.map(() => 0);
    for (let i = calls.length - 1; i >= 0; i--) mins[i] = min = Math.min(min, calls[i].revision);
    calls.forEach((w, i) => this.byCall.push({ callUs: w.op.callUs, minRevisionFromHere: mins[i] }));
    this.checkRealTimeOrder(calls);
  }

  /** The highest revision among writes acknowledged strictly before `us` (0 if none). */
  maxRevisionReturnedBefore(us: number): number {
    let lo = 0, hi = this.byReturn.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.byReturn[mid].returnUs < us) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : this.byReturn[lo - 1].maxRevision;
  }

  /** The lowest revision among acknowledged writes invoked strictly after `us` (Infinity if none). */
  minRevisionInvokedAfter(us: number): number {
    let lo = 0, hi = this.byCall.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.byCall[mid].callUs <= us) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.byCall.length ? Infinity : this.byCall[lo].minRevisionFromHere;
  }

  /** The last acknowledged write of `key` at or below `revision`. */
  lastAckedAtOrBelow(key: string, revision: number): AckedWrite | undefined {
    const list = this.byKey.get(key) ?? [];
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : list[lo - 1];
  }

  /** Puts of `value` to `key` that may have been applied without an acknowledgement: neither ok nor a definite failure. */
  unackedPutsOf(key: string, value: string, invokedBeforeUs: number): Operation[] {
    return (this.writesOfKey.get(key) ?? []).filter((op) => op.input.f === "put" && op.input.value === value && op.status === "info" && op.callUs < invokedBeforeUs);
  }

  /** Deletes of `key` that may have been applied without an acknowledgement. */
  unackedDeletesOf(key: string, invokedBeforeUs: number): Operation[] {
    return (this.writesOfKey.get(key) ?? []).filter((op) => op.input.f === "delete" && op.status === "info" && op.callUs < invokedBeforeUs);
  }

  /** Any put of `value` to `key` at all (to tell a phantom from a mismatch). */
  anyPutOf(key: string, value: string): Operation | undefined {
    return (this.writesOfKey.get(key) ?? []).find((op) => op.input.f === "put" && op.input.value === value);
  }

  /**
   * Revisions must follow real time: a write acknowledged before another was invoked has the
   * lower revision. (Sorted by call, each write's revision must exceed every revision returned
   * before its call.)
   */
  private checkRealTimeOrder(byCall: AckedWrite[]): void {
    for (const w of byCall) {
      const before = this.maxRevisionReturnedBefore(w.op.callUs);
      if (before >= w.revision) {
        this.findings.push({ check: "revisions", kind: "revision-order", detail: `op #${w.op.opId} was invoked after a write at revision ${before} was acknowledged, yet got revision ${w.revision}` });
      }
    }
  }
}

/** One-line description of a seen key. */
export function describeSeen(kv: KvSeen): string {
  return `${kv.key}=${JSON.stringify(kv.value)} v${kv.version} mod ${kv.modRevision}`;
}

// Proposals made at this node until they are decided or reported dropped: queued (no leader
// yet), in flight to the leader (forwarded, resent until acknowledged), placed (the leader
// acknowledged slot idx in ballot n); when the leader changes, by entryId: settled if their slot
// is decided, else re-forwarded (the next leader places each at most once), else "leader-changed".
import { assert } from "../assert.ts";
import { ballotEquals, type Ballot } from "../ballot.ts";
import type { DroppedProposal } from "../errors.ts";
import { limits } from "../limits.ts";
import type { StoredEntry } from "../log-entry.ts";
import type { ProposalAck } from "../messages.ts";
import type { SequencePaxos } from "./sequence-paxos.ts";

interface InflightBatch<T> {
  seq: number;
  entries: StoredEntry<T>[];
  /** Re-forwarded after a leader change: the leader de-duplicates from this slot. */
  dedupeFromIdx?: number;
}

interface ForwardSession<T> {
  to: number;
  n: Ballot;
  nextSeq: number;
  /** Sent and not yet acknowledged, in seq order. */
  inflight: InflightBatch<T>[];
}

interface PlacedRun<T> {
  n: Ballot;
  /** Slot of entries[0]; the run is contiguous. */
  idx: number;
  entries: StoredEntry<T>[];
}

interface Uncertain<T> {
  entry: StoredEntry<T>;
  /** The only slot it can ever be decided in. */
  idx: number;
}

export class Proposals<T, S> {
  /** Waiting for a leader (or for the leader's Prepare phase to end). */
  queue: StoredEntry<T>[] = [];
  private session: ForwardSession<T> | undefined;
  private placed: PlacedRun<T>[] = [];
  private uncertain: Uncertain<T>[] = [];
  /** Were in flight (unacknowledged) when the leader changed: may sit in any slot >= notBeforeIdx. */
  private unplaced: { entry: StoredEntry<T>; notBeforeIdx: number }[] = [];
  /** Our decidedIdx when the current promise began: a lower bound for any slot a proposal
   *  forwarded in this session can take. */
  private sessionDecidedIdx = 0;
  private dropped: DroppedProposal<T>[] = [];
  /** Invariant: count === queue + in flight + placed + uncertain entries. */
  private count = 0;

  constructor(private readonly sp: SequencePaxos<T, S>) {}

  pendingCount(): number {
    return this.count;
  }

  hasRoom(): boolean {
    return this.count < limits.pendingProposalsMax;
  }

  enqueue(e: StoredEntry<T>): void {
    this.queue.push(e);
    this.count++;
  }

  /** The leader appended one of its own proposals at slot idx (in its ballot). */
  placedLocally(e: StoredEntry<T>, idx: number, n: Ballot): void {
    const last = this.placed[this.placed.length - 1];
    if (last !== undefined && last.idx + last.entries.length === idx && ballotEquals(last.n, n)) last.entries.push(e);
    else this.placed.push({ n, idx, entries: [e] });
    this.count++;
  }

  /** Queue entries became leader-local appends (the caller appended them). */
  takeQueue(): StoredEntry<T>[] {
    const q = this.queue;
    this.queue = [];
    this.count -= q.length;
    return q;
  }

  drop(e: StoredEntry<T>, reason: DroppedProposal<T>["reason"]): void {
    // A dropped StopSign is not reported: the application watches getConfiguration().
    if (e.kind === "entry") this.dropped.push({ entry: e.entry, reason });
  }

  takeDropped(): DroppedProposal<T>[] {
    const d = this.dropped;
    this.dropped = [];
    return d;
  }

  /** Leader side: our own proposals that were in flight to a previous leader (see appendUnplaced). */
  takeUnplaced(): { entry: StoredEntry<T>; notBeforeIdx: number }[] {
    const u = this.unplaced;
    this.unplaced = [];
    this.count -= u.length; // counted again by placedAt / placedLocally
    return u;
  }

  /** An own proposal the leader (us) found already placed at idx in ballot n. */
  placedAt(e: StoredEntry<T>, idx: number, n: Ballot): void {
    this.insertPlaced({ n, idx, entries: [e] });
    this.count++;
  }

  /** One taken with takeUnplaced() that cannot be placed. */
  dropUnplaced(e: StoredEntry<T>, reason: DroppedProposal<T>["reason"]): void {
    this.drop(e, reason);
  }

  hasUnplaced(): boolean {
    return this.unplaced.length > 0;
  }

  /** Forwards the queue to the leader we follow (called on flush). */
  forward(): void {
    const sp = this.sp;
    if ((this.queue.length === 0 && this.unplaced.length === 0) || sp.role === "leader" || sp.phase !== "accept") return;
    const leaderPid = sp.promise.pid;
    if (this.session === undefined || !ballotEquals(this.session.n, sp.promise)) {
      assert(this.session === undefined || this.session.inflight.length === 0, () => "stale forwarding session still has entries in flight");
      this.session = { to: leaderPid, n: sp.promise, nextSeq: 0, inflight: [] };
    }
    const s = this.session;
    if (this.unplaced.length > 0) {
      let from = Number.MAX_SAFE_INTEGER;
      for (const u of this.unplaced) from = Math.min(from, u.notBeforeIdx);
      this.pushBatches(s, this.unplaced.map((u) => u.entry), from);
      this.unplaced = [];
    }
    const q = this.queue;
    this.queue = [];
    this.pushBatches(s, q, undefined);
  }

  private pushBatches(s: ForwardSession<T>, q: StoredEntry<T>[], dedupeFromIdx: number | undefined): void {
    for (let i = 0; i < q.length; i += limits.forwardEntriesMax) {
      const entries = i === 0 && q.length <= limits.forwardEntriesMax ? q : q.slice(i, i + limits.forwardEntriesMax);
      const batch: InflightBatch<T> = { seq: s.nextSeq, entries, ...(dedupeFromIdx !== undefined ? { dedupeFromIdx } : {}) };
      s.nextSeq += entries.length;
      s.inflight.push(batch);
      this.sendBatch(s, batch);
    }
  }

  private sendBatch(s: ForwardSession<T>, b: InflightBatch<T>): void {
    const ackedSeq = s.inflight.length > 0 ? s.inflight[0]!.seq : s.nextSeq;
    this.sp.send({ kind: "ProposalForward", from: this.sp.pid, to: s.to, configurationId: this.sp.config.configurationId, n: s.n, incarnation: this.sp.incarnation, seq: b.seq, ackedSeq, entries: b.entries, ...(b.dedupeFromIdx !== undefined ? { dedupeFromIdx: b.dedupeFromIdx } : {}) });
  }

  /** Resend timeout: everything not yet acknowledged goes again to the same session. */
  resend(): void {
    const s = this.session;
    if (s === undefined || !ballotEquals(s.n, this.sp.promise)) return;
    for (const b of s.inflight) this.sendBatch(s, b);
  }

  /** An acknowledgement for slots [seq, seq+count): it may arrive in any order and overlap any
   *  part of our in-flight batches (re-forwarded batches are acknowledged entry by entry, resent
   *  batches may have been split by earlier acknowledgements). */
  handleAck(msg: ProposalAck): void {
    const s = this.session;
    if (s === undefined || !ballotEquals(s.n, msg.n) || s.to !== msg.from) return;
    const ackEnd = msg.seq + msg.count;
    const next: InflightBatch<T>[] = [];
    for (const b of s.inflight) {
      const bEnd = b.seq + b.entries.length;
      const lo = Math.max(b.seq, msg.seq);
      const hi = Math.min(bEnd, ackEnd);
      if (lo >= hi) {
        next.push(b);
        continue;
      }
      const acked = b.entries.slice(lo - b.seq, hi - b.seq);
      if (msg.rejected !== undefined) {
        for (const e of acked) this.drop(e, msg.rejected === "reconfigured" ? "reconfigured" : "leader-changed");
        this.count -= acked.length;
      } else {
        this.insertPlaced({ n: msg.n, idx: msg.idx + (lo - msg.seq), entries: acked });
      }
      if (lo > b.seq) next.push({ ...b, entries: b.entries.slice(0, lo - b.seq) });
      if (hi < bEnd) next.push({ ...b, seq: hi, entries: b.entries.slice(hi - b.seq) });
    }
    s.inflight = next;
    this.onDecided();
  }

  /** Keeps `placed` in slot order. */
  private insertPlaced(r: PlacedRun<T>): void {
    let k = this.placed.length;
    while (k > 0 && this.placed[k - 1]!.idx > r.idx) k--;
    this.placed.splice(k, 0, r);
  }

  /** decidedIdx grew: placed runs below it are decided (we held the same promise throughout). */
  onDecided(): void {
    const d = this.sp.decidedIdx;
    let k = 0;
    while (k < this.placed.length) {
      const r = this.placed[k]!;
      if (r.idx + r.entries.length <= d) {
        this.count -= r.entries.length;
        k++;
        continue;
      }
      if (r.idx < d) {
        this.count -= d - r.idx;
        r.entries = r.entries.slice(d - r.idx);
        r.idx = d;
      }
      break;
    }
    if (k > 0) this.placed.splice(0, k);
    this.settle();
  }

  /**
   * Our promise changed, so the leader that placed our proposals may be gone. A placed proposal
   * can only ever be decided in the slot it was placed in (logs are copied slot by slot). If that
   * slot is decided it is settled by entryId at once: ours -> done, another value -> proposed
   * again; otherwise it is re-forwarded with that slot as the de-duplication start, like proposals
   * in flight without an acknowledgement (see reforwardUncertain). Without an entryId every placed
   * or in-flight proposal is reported "leader-changed" at once (it may still be decided; the
   * application retries idempotently). `unflushedFromIdx`: we were leading and slots from there
   * were only in our unflushed batch (never written nor sent): proposed again.
   * `configurationEnded`: every slot of the configuration is decided; see onConfigurationEnded.
   */
  onPromiseChanged(unflushedFromIdx?: number, configurationEnded = false): void {
    const s = this.session;
    const known = this.sp.opts.entryId !== undefined;
    if (s !== undefined) {
      for (const b of s.inflight) {
        const notBeforeIdx = b.dedupeFromIdx ?? this.sessionDecidedIdx;
        for (const e of b.entries) {
          if (e.kind === "stopsign") this.count--;
          else if (known) this.unplaced.push({ entry: e, notBeforeIdx });
          else {
            this.count--;
            this.drop(e, "leader-changed");
          }
        }
      }
      this.session = undefined;
    }
    this.sessionDecidedIdx = this.sp.decidedIdx;
    const requeue: StoredEntry<T>[] = [];
    for (const r of this.placed) {
      for (let k = 0; k < r.entries.length; k++) {
        const e = r.entries[k]!;
        if (unflushedFromIdx !== undefined && r.idx + k >= unflushedFromIdx) requeue.push(e); // our unflushed leader batch: never left this node
        else if (e.kind === "stopsign") this.count--; // its fate shows in getConfiguration()
        else if (known) this.uncertain.push({ entry: e, idx: r.idx + k });
        else {
          this.count--;
          this.drop(e, "leader-changed");
        }
      }
    }
    this.placed = [];
    if (requeue.length > 0) this.queue = requeue.concat(this.queue);
    this.settle();
    if (!configurationEnded) this.reforwardUncertain();
  }

  /**
   * Uncertain proposals whose slot is not decided yet are re-forwarded like unacknowledged ones:
   * the next leader, once a quorum accepted its ballot, keeps the slot its log holds the id in,
   * else places it anew (an older round's log can no longer be chosen). Waiting for the slot to be
   * decided instead never ends when the new leader's log stops short of it on an idle cluster
   * (seed 951). The search starts at our decidedIdx, not at the old slot: a leader whose log is
   * shorter places it below the old slot, and a later leader must still find it there.
   */
  private reforwardUncertain(): void {
    for (const u of this.uncertain) this.unplaced.push({ entry: u.entry, notBeforeIdx: Math.min(u.idx, this.sp.decidedIdx) });
    this.uncertain = [];
  }

  /** Settles uncertain proposals whose slot is decided (see onPromiseChanged). */
  private settle(): void {
    if (this.uncertain.length === 0) return;
    const sp = this.sp;
    const idOf = sp.opts.entryId!;
    const keep: Uncertain<T>[] = [];
    for (const u of this.uncertain) {
      if (u.idx >= sp.decidedIdx) {
        keep.push(u);
        continue;
      }
      this.count--;
      if (u.idx < sp.compactedIdx) {
        this.drop(u.entry, "leader-changed");
        continue;
      }
      const slot = sp.storage.getEntries(u.idx, u.idx + 1)[0]!;
      if (slot.kind === "entry" && u.entry.kind === "entry" && idOf(slot.entry) === idOf(u.entry.entry)) continue; // decided
      if (sp.stopSignIdx !== undefined && sp.stopSignIdx < u.idx) this.drop(u.entry, "reconfigured");
      else this.enqueue(u.entry);
    }
    this.uncertain = keep;
  }

  /** The configuration ended (its StopSign is decided, so every slot of it is): settle what
   *  can be settled, and nothing else can be decided in it any more. */
  onConfigurationEnded(): void {
    this.onPromiseChanged(undefined, true);
    for (const u of this.uncertain) this.drop(u.entry, "reconfigured");
    this.count -= this.uncertain.length;
    this.uncertain = [];
    // In flight when the configuration ended: they may be among its decided slots.
    for (const u of this.unplaced) this.drop(u.entry, "leader-changed");
    this.count -= this.unplaced.length;
    this.unplaced = [];
    for (const e of this.queue) this.drop(e, "reconfigured");
    this.count -= this.queue.length;
    this.queue = [];
    assert(this.count === 0, () => `proposals left after the configuration ended: ${this.count}`);
  }

  /** A StopSign is in the leader's log: queued proposals can no longer be placed. */
  dropQueued(reason: DroppedProposal<T>["reason"]): void {
    for (const e of this.queue) this.drop(e, reason);
    this.count -= this.queue.length;
    this.queue = [];
  }
}

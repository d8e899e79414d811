// Proposals made at this node until they are decided or reported dropped: queued (no leader
// yet), in flight to the leader (forwarded, resent until acknowledged), placed (the leader
// acknowledged slot idx in ballot n) and uncertain (their leader changed before the decision;
// settled against the new leader's inherited log by entryId, else reported "leader-changed").
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
  /** Any slot this batch can occupy is >= this (our decidedIdx when first sent). */
  notBeforeIdx: number;
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
  notBeforeIdx: number;
  /** Exact slot if known (placed), else -1 (in flight when the leader changed). */
  idx: number;
}

export class Proposals<T, S> {
  /** Waiting for a leader (or for the leader's Prepare phase to end). */
  queue: StoredEntry<T>[] = [];
  private session: ForwardSession<T> | undefined;
  private placed: PlacedRun<T>[] = [];
  private uncertain: Uncertain<T>[] = [];
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

  /** Forwards the queue to the leader we follow (called on flush). */
  forward(): void {
    const sp = this.sp;
    if (this.queue.length === 0 || sp.role === "leader" || sp.phase !== "accept") return;
    const leaderPid = sp.promise.pid;
    if (this.session === undefined || !ballotEquals(this.session.n, sp.promise)) {
      assert(this.session === undefined || this.session.inflight.length === 0, () => "stale forwarding session still has entries in flight");
      this.session = { to: leaderPid, n: sp.promise, nextSeq: 0, inflight: [] };
    }
    const s = this.session;
    const q = this.queue;
    this.queue = [];
    for (let i = 0; i < q.length; i += limits.forwardEntriesMax) {
      const entries = i === 0 && q.length <= limits.forwardEntriesMax ? q : q.slice(i, i + limits.forwardEntriesMax);
      const batch = { seq: s.nextSeq, entries, notBeforeIdx: sp.decidedIdx };
      s.nextSeq += entries.length;
      s.inflight.push(batch);
      this.sendBatch(s, batch);
    }
  }

  private sendBatch(s: ForwardSession<T>, b: InflightBatch<T>): void {
    const ackedSeq = s.inflight.length > 0 ? s.inflight[0]!.seq : s.nextSeq;
    this.sp.send({ kind: "ProposalForward", from: this.sp.pid, to: s.to, configurationId: this.sp.config.configurationId, n: s.n, incarnation: this.sp.incarnation, seq: b.seq, ackedSeq, entries: b.entries });
  }

  /** Resend timeout: everything not yet acknowledged goes again to the same session. */
  resend(): void {
    const s = this.session;
    if (s === undefined || !ballotEquals(s.n, this.sp.promise)) return;
    for (const b of s.inflight) this.sendBatch(s, b);
  }

  handleAck(msg: ProposalAck): void {
    const s = this.session;
    if (s === undefined || !ballotEquals(s.n, msg.n) || s.to !== msg.from) return;
    const i = s.inflight.findIndex((b) => b.seq === msg.seq);
    if (i < 0) return; // duplicate ack
    const b = s.inflight[i]!;
    assert(msg.count <= b.entries.length, () => `ack for ${msg.count} entries of a batch of ${b.entries.length}`);
    if (msg.rejected !== undefined) {
      for (let k = 0; k < msg.count; k++) this.drop(b.entries[k]!, "reconfigured");
      this.count -= msg.count;
    } else {
      this.placed.push({ n: msg.n, idx: msg.idx, entries: msg.count === b.entries.length ? b.entries : b.entries.slice(0, msg.count) });
    }
    if (msg.count === b.entries.length) s.inflight.splice(i, 1);
    else s.inflight[i] = { seq: b.seq + msg.count, entries: b.entries.slice(msg.count), notBeforeIdx: b.notBeforeIdx };
    this.onDecided();
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
  }

  /** Our promise changed: whatever the old leader held but did not decide has an unknown fate. */
  onPromiseChanged(): void {
    const s = this.session;
    if (s !== undefined) {
      for (const b of s.inflight) {
        for (const e of b.entries) {
          if (e.kind === "stopsign") this.count--;
          else this.uncertain.push({ entry: e, notBeforeIdx: b.notBeforeIdx, idx: -1 });
        }
      }
      this.session = undefined;
    }
    const requeue: StoredEntry<T>[] = [];
    for (const r of this.placed) {
      for (let k = 0; k < r.entries.length; k++) {
        const e = r.entries[k]!;
        if (r.n.pid === this.sp.pid && r.idx + k >= this.sp.acceptedIdx) requeue.push(e); // our unflushed leader batch: never left this node
        else if (e.kind === "stopsign") this.count--; // its fate shows in getConfiguration()
        else this.uncertain.push({ entry: e, notBeforeIdx: r.idx + k, idx: r.idx + k });
      }
    }
    this.placed = [];
    if (requeue.length > 0) this.queue = requeue.concat(this.queue);
    if (this.sp.opts.entryId === undefined) this.dropUncertain("leader-changed");
  }

  private dropUncertain(reason: DroppedProposal<T>["reason"]): void {
    for (const u of this.uncertain) this.drop(u.entry, reason);
    this.count -= this.uncertain.length;
    this.uncertain = [];
  }

  /**
   * Our log now holds the current leader's inherited log up to inheritedIdx: nothing placed by an
   * earlier leader can be decided outside it. Settle uncertain proposals: found -> placed (or
   * decided), not found -> proposed again, compacted away -> dropped.
   */
  settle(inheritedIdx: number, notFound: "requeue" | "reconfigured"): void {
    if (this.uncertain.length === 0) return;
    const sp = this.sp;
    assert(sp.acceptedIdx >= inheritedIdx, () => `settle(${inheritedIdx}) with acceptedIdx ${sp.acceptedIdx}`);
    const idOf = sp.opts.entryId;
    if (idOf === undefined) return this.dropUncertain(notFound === "requeue" ? "leader-changed" : "reconfigured");
    const key = (e: StoredEntry<T>): string | number => (e.kind === "entry" ? idOf(e.entry) : `stopsign:${e.stopSign.nextConfig.configurationId}`);
    const sought = new Map<string | number, Uncertain<T>>();
    let from = inheritedIdx;
    for (const u of this.uncertain) {
      if (u.notBeforeIdx < sp.compactedIdx) {
        this.drop(u.entry, "leader-changed");
        this.count--;
        continue;
      }
      sought.set(key(u.entry), u);
      from = Math.min(from, u.notBeforeIdx);
    }
    this.uncertain = [];
    if (sought.size === 0) return;
    const log = from < inheritedIdx ? sp.storage.getEntries(from, inheritedIdx) : [];
    for (let i = 0; i < log.length && sought.size > 0; i++) {
      const u = sought.get(key(log[i]!));
      if (u === undefined) continue;
      sought.delete(key(log[i]!));
      const idx = from + i;
      if (idx < sp.decidedIdx) this.count--; // decided: done
      else this.placed.push({ n: sp.promise, idx, entries: [u.entry] });
    }
    this.placed.sort((a, b) => a.idx - b.idx);
    for (const u of sought.values()) {
      this.count--;
      if (notFound === "reconfigured" || sp.stopSignIdx !== undefined) this.drop(u.entry, "reconfigured");
      else this.enqueue(u.entry);
    }
  }

  /** The configuration ended: everything still waiting can never be decided in it. */
  onConfigurationEnded(): void {
    this.onPromiseChanged();
    this.settle(this.sp.decidedIdx, "reconfigured");
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

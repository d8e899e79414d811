// The hot path (DESIGN §3a): one OmniPaxos core driven from one event loop. Inputs (peer batches,
// proposals, reads, ticks) go into the core synchronously; one flush per event-loop turn then
//   1. takes the core's outgoing messages, 2. applies newly decided entries to the KV state machine,
//   3. commits everything staged in ONE SQLite transaction, whose fdatasync runs off the event loop and is
//   shared by every commit made meanwhile, 4. sends the messages batched per peer, 5. answers the clients
//   whose entries were applied and the reads whose barrier passed.
// Nothing leaves the node before the fsync of what it depends on (the flush, below, says what that is).

import { Code } from "@connectrpc/connect";
import type { Message, OmniPaxos } from "@omnimeta/omnipaxos";
import { ProposalError } from "@omnimeta/omnipaxos";
import type { Command } from "../state-machine/command.ts";
import type { KvStateMachine, SnapshotJump } from "../state-machine/kv-state-machine.ts";
import type { KvSnapshot, OfferedKvSnapshot } from "../state-machine/kv-snapshot.ts";
import { dedupTargetOf, type ApplyResult, type WatchEvent } from "../state-machine/kv-types.ts";
import type { Limits } from "../limits.ts";
import type { Logger } from "../log.ts";
import type { ServerMetrics } from "../metrics.ts";
import type { UnsafeFlags } from "../unsafe.ts";
import { OpError, resourceExhausted, unavailable, type LeaderHintInfo } from "../rpc/op-error.ts";
import { offerIn, withoutSyncSnapshot, withSyncSnapshot } from "./state-transfer.ts";

export type CoreMessage = Message<Command, KvSnapshot>;
export type Core = OmniPaxos<Command, KvSnapshot>;

/** The messages a flush sends before its commit (see flush()): the leader's replication and liveness
 *  traffic, which vouches for nothing on this node's disk. Promise, Accepted, Prepare and the rest wait. */
const earlyKinds: ReadonlySet<CoreMessage["kind"]> = new Set<CoreMessage["kind"]>([
  "AcceptDecide",
  "AcceptSync",
  "Decide",
  "HeartbeatRequest",
  "HeartbeatReply",
  "ProposalForward",
  "ReadQuorumRequest",
]);

/** Entries applied per pass of the apply loop (bounds one read from the log). */
const applyChunkEntries = 4096;
/** ack-before-fsync (unsafe): how long staged writes wait for their commit. */
const lazyCommitMs = 200;

interface Waiter<R> {
  resolve: (r: R) => void;
  reject: (e: OpError) => void;
  timer: NodeJS.Timeout;
}

export interface ReplicaHooks {
  /**
   * Makes everything staged durable: one transaction, one fsync (nothing when nothing is staged). With
   * `deferFsync`, the transaction skips its fsync and reports `needsSync`: then it is durable once a
   * `syncWal` requested after it has called back.
   */
  commit(options?: { deferFsync?: boolean }): { writeCount: number; durationMs: number; synced?: boolean; needsSync?: boolean };
  /** fdatasync of the WAL off the event loop; `done` runs when every commit made before the call is durable. */
  syncWal(done: (err: Error | undefined) => void): void;
  /** The same, blocking (shutdown). */
  syncWalNow(): void;
  /** Sends one peer its batch of messages (already durable). */
  send(to: number, messages: CoreMessage[]): void;
  /** Events of the entries applied and committed in a flush (for watches), and the revisions a snapshot
   *  install skipped in it, if any. */
  committed(events: WatchEvent[], jump: SnapshotJump | undefined): void;
  /** The offer that stands for a stored snapshot sent to peer `to`, or undefined while it is being made
   *  (snapshot/snapshot-offers.ts). */
  offerSnapshot(lastRevision: number, to: number): OfferedKvSnapshot | undefined;
  /** Node `to` is pulling offer `transferId` now (snapshot-offers.ts). */
  offerInFlight(to: number, transferId: string): boolean;
  /** A peer's message offers a snapshot: it reaches the core once the snapshot is here (state-transfer.ts). */
  snapshotOffered(message: CoreMessage, offer: OfferedKvSnapshot): void;
  /** Called after a flush in which leader, configuration or removal changed. */
  changed(): void;
  /** Where the leader is, for UNAVAILABLE answers. */
  leaderHint(): LeaderHintInfo | undefined;
  /** A broken invariant or a failed commit: the node must stop. */
  fatal(e: unknown): void;
  /** After every flush (membership changes wait on it). */
  flushed(): void;
  /** A decided StopSign at slot `idx` was applied (staged in the same commit). */
  stopSignApplied(idx: number, metadata: Uint8Array | undefined): void;
}

export class Replica {
  private scheduled = false;
  /** Per peer: the offer, message kind and ballot of the last sync with a snapshot offer sent to it. */
  private readonly offerSent = new Map<number, string>();
  private inputCount = 0;
  /** Writes refused or dropped because a StopSign closed the configuration (reproposeParked). */
  private parked: Array<Command & { requestId: string }> = [];
  private readonly proposals = new Map<string, Array<Waiter<ApplyResult>>>();
  private proposalCount = 0;
  private readonly reads = new Map<number, Waiter<number>>();
  /** Reads whose quorum round passed, waiting for applied >= idx (ascending idx). */
  private readyReads: Array<{ idx: number; waiter: Waiter<number> }> = [];
  private nextReadToken = 1;
  /** Read tokens waiting for this leader to reach its accept phase. */
  private deferredReads: number[] = [];
  private lastLeader = 0;
  private lastConfigurationId = 0;
  private lastRemoved = false;
  private lazyCommit: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    readonly core: Core,
    readonly machine: KvStateMachine,
    private readonly selfId: number,
    private readonly hooks: ReplicaHooks,
    private readonly limits: Limits,
    private readonly unsafe: UnsafeFlags,
    private readonly metrics: ServerMetrics,
    private readonly logger: Logger,
  ) {
    this.lastConfigurationId = core.getConfiguration().configurationId;
    metrics.pendingWrites.collect(() => [[undefined, this.proposalCount]]);
    metrics.pendingReads.collect(() => [[undefined, this.reads.size + this.readyReads.length]]);
  }

  /** Writes and linearizable reads waiting here. */
  get pendingCount(): number {
    return this.proposalCount + this.reads.size + this.readyReads.length;
  }

  get appliedRevision(): number {
    return this.machine.appliedRevision;
  }

  leaderId(): number {
    return this.core.getCurrentLeader() ?? 0;
  }

  isLeader(): boolean {
    return this.leaderId() === this.selfId;
  }

  // ---- inputs ----

  handleMessages(messages: readonly CoreMessage[]): void {
    if (this.stopped) return;
    for (const m of messages) {
      const offer = offerIn(m);
      if (offer === undefined) {
        if (acceptable(m)) this.core.handleIncoming(m);
      } else if (this.core.getCompactedIdx() >= syncOf(m)!.snapshot!.compactedIdx) {
        // We hold that prefix already (a re-send of a sync whose snapshot we installed, or our own compaction
        // got there): the core would skip the snapshot (installSnapshot is a no-op at or below our compacted
        // index), so give it the same payload without one, its entries from that index. Fetching the state
        // again would only cost a transfer (jepsen: every joiner fetched each offer twice).
        this.core.handleIncoming(withoutSyncSnapshot(m));
      } else this.hooks.snapshotOffered(m, offer);
    }
    this.acceptPhase = undefined;
    this.input();
  }

  /** A held message whose offered snapshot is now complete in the staging area (state-transfer.ts). */
  deliverTransferred(m: CoreMessage): void {
    if (this.stopped) return;
    this.core.handleIncoming(m);
    this.acceptPhase = undefined;
    this.input();
  }

  tick(): void {
    if (this.stopped) return;
    this.core.tick();
    this.acceptPhase = undefined;
    this.input();
  }

  /** Proposes a write at the leader; resolves with its apply result once applied and durable. */
  propose(command: Command & { requestId: string }): Promise<ApplyResult> {
    if (this.stopped) return Promise.reject(unavailable("node is shutting down"));
    if (!this.isLeader()) return Promise.reject(unavailable("not the leader", this.hooks.leaderHint()));
    if (this.proposalCount >= this.limits.pendingRequestsMax) {
      return Promise.reject(resourceExhausted(`too many pending writes (${this.limits.pendingRequestsMax})`));
    }
    let park = false;
    try {
      this.core.append(command);
    } catch (e) {
      // A StopSign closed this configuration: the write waits for the next one, which this node goes on
      // leading (OmniPaxos.applyPendingSwitch), instead of failing the client in the middle of a join.
      if (e instanceof ProposalError && e.code === "reconfigured") park = true;
      else return Promise.reject(proposalFailure(e, this.hooks.leaderHint()));
    }
    const started = performance.now();
    const key = command.kind === "put" || command.kind === "delete" ? proposalKey(command) : command.requestId;
    const p = new Promise<ApplyResult>((resolve, reject) => {
      const waiter: Waiter<ApplyResult> = {
        resolve: (r) => {
          this.metrics.writeSeconds.observe((performance.now() - started) / 1000);
          resolve(r);
        },
        reject,
        timer: setTimeout(() => this.expireProposal(key, waiter), this.limits.requestTimeoutMs),
      };
      const list = this.proposals.get(key);
      if (list) list.push(waiter);
      else this.proposals.set(key, [waiter]);
      this.proposalCount++;
    });
    if (park) this.parked.push(command);
    this.input();
    return p;
  }

  /**
   * Linearizable read barrier at the leader (read-index): resolves with the applied revision once the
   * leader confirmed its leadership with a quorum round started after this call and applied every slot
   * below the read index. Concurrent reads share one round.
   */
  readBarrier(): Promise<number> {
    if (this.stopped) return Promise.reject(unavailable("node is shutting down"));
    if (!this.isLeader()) return Promise.reject(unavailable("not the leader", this.hooks.leaderHint()));
    if (this.reads.size + this.readyReads.length >= this.limits.pendingRequestsMax) {
      return Promise.reject(resourceExhausted(`too many pending reads (${this.limits.pendingRequestsMax})`));
    }
    const token = this.nextReadToken++;
    // A leader still in its prepare phase cannot start a read round yet: hold the read until it can.
    if (this.inAcceptPhase()) {
      try {
        this.core.readIndex(token);
      } catch (e) {
        return Promise.reject(proposalFailure(e, this.hooks.leaderHint()));
      }
    } else {
      this.deferredReads.push(token);
    }
    const started = performance.now();
    const p = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.reads.delete(token);
        reject(unavailable(`read barrier did not complete within ${this.limits.requestTimeoutMs} ms`, this.hooks.leaderHint()));
      }, this.limits.requestTimeoutMs);
      const done = (applied: number): void => {
        this.metrics.readBarrierSeconds.observe((performance.now() - started) / 1000);
        resolve(applied);
      };
      this.reads.set(token, { resolve: done, reject, timer });
    });
    this.input();
    return p;
  }

  /** Cached between inputs that can change the phase (peer messages, ticks); reads are many per turn. */
  private acceptPhase: boolean | undefined;

  private inAcceptPhase(): boolean {
    if (this.acceptPhase === undefined) {
      const s = this.core.getStatus();
      this.acceptPhase = s.role === "leader" && s.phase === "accept";
    }
    return this.acceptPhase;
  }

  /** Starts the reads held while the leader was preparing. */
  private issueDeferredReads(): void {
    if (this.deferredReads.length === 0 || !this.inAcceptPhase()) return;
    const tokens = this.deferredReads;
    this.deferredReads = [];
    for (const token of tokens) {
      if (!this.reads.has(token)) continue;
      try {
        this.core.readIndex(token);
      } catch (e) {
        const w = this.reads.get(token)!;
        this.reads.delete(token);
        clearTimeout(w.timer);
        w.reject(proposalFailure(e, this.hooks.leaderHint()));
      }
    }
    this.input();
  }

  private input(): void {
    this.inputCount++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Schedules a flush (after a direct call into the core, e.g. reconfigure). */
  wake(): void {
    this.input();
  }

  /** Runs a flush now if one is due, the commit it left pending and its fsync (used before shutting down). */
  flushNow(): void {
    if (this.scheduled) this.flush();
    this.finishNow();
    if (this.completions.length > 0) {
      this.hooks.syncWalNow();
      for (const c of this.completions) c.ready = true;
      this.runCompletions();
    }
  }

  // ---- the flush: take, apply, answer, commit, fsync, send ----
  //
  // A flush is two event-loop turns and an fsync. The first turn takes the core's output, applies what was
  // decided and answers; the second (setImmediate, so those answers reach the socket first) commits what the
  // flush staged in one SQLite transaction without its fsync, and asks for an fdatasync of the WAL off the
  // event loop (storage/wal-syncer.ts; every commit made while one runs joins the next: group commit). When
  // the fdatasync is done, the flush's remaining messages leave. Meanwhile the event loop keeps reading
  // sockets and running flushes, whose commits join the next fdatasync; their completions run in flush
  // order, each after every earlier one.
  //
  // What may leave before the fsync, and why that is safe:
  //  - Answers, watch events and reads of what was applied: this node applies a slot only once a quorum holds
  //    it durably (applyDecided stops at safeDecidedIdx(): below the accepted index of this node's last
  //    durable commit, or inside a snapshot installed from decided state). The core counts a leader's own
  //    acceptance as soon as it appends; that cap keeps a decision resting on an acceptance not yet on
  //    this node's disk from being applied, answered or served until it is. A follower's acceptances count at
  //    the leader only through Accepted, which waits for the fsync.
  //  - The leader's replication traffic (earlyKinds), so that its fsync and its followers' run at once (Raft
  //    thesis §10.2.1): an AcceptDecide or AcceptSync is sent in a ballot whose promise was committed before
  //    its Prepare left (Prepare waits: a promise lost in a crash could let the restarted node reuse the
  //    ballot); heartbeats and forwards carry no durable state. The decided index these messages carry is a
  //    claim about durability, so it is cut to safeDecidedIdx(), and the full one follows in a Decide once
  //    the fsync is done (receivers keep the highest decided index they learn; the core, which recorded the
  //    full one as sent, does not send it again).
  //  - Everything else (Promise, Accepted, Prepare, ...) vouches for this node's disk and waits.

  /** The accepted index as of the last durable commit: slots below it are durable in this node's log. */
  private durableAcceptedIdx = 0;
  /** The second half of the last flush, until it ran. */
  private pendingFinish: (() => void) | undefined;
  /** Flushes whose commit ran, in flush order, until their fsync is done and they completed. */
  private readonly completions: Array<{ ready: boolean; complete: () => void }> = [];

  /** Decided slots below this are durable on a quorum, as far as this node can vouch (see the flush). */
  private safeDecidedIdx(): number {
    return Math.max(this.durableAcceptedIdx, this.core.getCompactedIdx());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.stopped) return;
    // A flush never overtakes the commit of the previous one: commits, and completions, run in flush order.
    this.finishNow();
    const started = performance.now();
    this.metrics.flushInputs.observe(this.inputCount);
    this.inputCount = 0;
    const safe = !this.unsafe.ackBeforeFsync;
    let outgoing: CoreMessage[];
    let results: Array<[string, ApplyResult]>;
    let events: WatchEvent[];
    let jump: SnapshotJump | undefined;
    let acceptedIdx: number;
    try {
      outgoing = this.core.takeOutgoingMessages();
      acceptedIdx = this.core.getAcceptedIdx();
      this.acceptPhase = undefined;
      results = this.applyDecided(safe ? this.safeDecidedIdx() : Number.POSITIVE_INFINITY);
      events = this.machine.takeEvents();
      jump = this.machine.takeSnapshotJump();
    } catch (e) {
      this.hooks.fatal(e);
      return;
    }
    let late = outgoing;
    let decides: CoreMessage[] | undefined;
    if (safe) {
      this.answer(results);
      this.hooks.committed(events, jump);
      const limit = this.safeDecidedIdx();
      const first: CoreMessage[] = [];
      late = [];
      for (const m of outgoing) {
        if (!earlyKinds.has(m.kind)) {
          late.push(m);
        } else if ((m.kind === "AcceptDecide" || m.kind === "AcceptSync" || m.kind === "Decide") && m.decidedIdx > limit) {
          (decides ??= []).push({ kind: "Decide", from: m.from, to: m.to, configurationId: m.configurationId, n: m.n, decidedIdx: m.decidedIdx });
          if (m.kind !== "Decide") first.push({ ...m, decidedIdx: limit });
        } else {
          first.push(m);
        }
      }
      this.send(first);
    }
    const complete = (): void => {
      // Everything written before the take is durable now (the log may also have shrunk: a sync truncated it).
      if (safe) this.durableAcceptedIdx = acceptedIdx;
      // Decides first: a Decide of a StopSign moves its receivers into the next configuration, where the
      // Prepare in `late` (the old leader going on leading it: OmniPaxos.applyPendingSwitch) must find them.
      if (decides) this.send(decides);
      this.send(late);
      if (!safe) {
        this.answer(results);
        this.hooks.committed(events, jump);
      } else {
        this.answerReads();
      }
      this.observeChanges();
      this.reproposeParked();
      this.issueDeferredReads();
      this.hooks.flushed();
      this.metrics.flushSeconds.observe((performance.now() - started) / 1000);
      // Slots the cap held back can be applied now.
      if (safe && this.machine.appliedRevision < this.core.getDecidedIdx()) this.input();
    };
    const finish = (): void => {
      if (this.pendingFinish !== finish) return;
      this.pendingFinish = undefined;
      let needsSync = false;
      try {
        if (safe) needsSync = this.commit(true);
        else this.scheduleLazyCommit();
      } catch (e) {
        this.hooks.fatal(e);
        return;
      }
      const completion = { ready: !needsSync, complete };
      this.completions.push(completion);
      if (needsSync) {
        this.hooks.syncWal((err) => {
          if (err) return this.hooks.fatal(err);
          completion.ready = true;
          this.runCompletions();
        });
      } else {
        this.runCompletions();
      }
    };
    this.pendingFinish = finish;
    setImmediate(finish);
  }

  /** Completes the flushes whose fsync is done, in order, up to the first that still waits. */
  private runCompletions(): void {
    while (this.completions.length > 0 && this.completions[0]!.ready) {
      const { complete } = this.completions.shift()!;
      if (this.stopped) continue;
      try {
        complete();
      } catch (e) {
        this.hooks.fatal(e);
        return;
      }
    }
  }

  /** Runs the pending second half of a flush now (before the next flush, or before stopping). */
  private finishNow(): void {
    this.pendingFinish?.();
  }

  /** Commits what is staged; with `deferFsync`, returns whether the commit waits for a syncWal. */
  private commit(deferFsync = false): boolean {
    const { writeCount, durationMs, synced, needsSync } = this.hooks.commit({ deferFsync });
    if (writeCount === 0) return false;
    this.metrics.commitSeconds.observe(durationMs / 1000);
    if (synced === true) this.metrics.walFsyncSeconds.observe(durationMs / 1000);
    return needsSync === true;
  }

  private scheduleLazyCommit(): void {
    if (this.lazyCommit) return;
    this.lazyCommit = setTimeout(() => {
      this.lazyCommit = undefined;
      try {
        this.commit();
      } catch (e) {
        this.hooks.fatal(e);
      }
    }, lazyCommitMs);
  }

  /** Applies every decided slot not yet applied; returns the results of requests with an id. */
  private applyDecided(cap: number): Array<[string, ApplyResult]> {
    const results: Array<[string, ApplyResult]> = [];
    let appliedCount = 0;
    for (;;) {
      const applied = this.machine.appliedRevision; // = slots applied = next slot index
      const decided = Math.min(this.core.getDecidedIdx(), cap);
      if (applied >= decided) break;
      const to = Math.min(decided, applied + applyChunkEntries);
      const entries = this.core.readEntries(applied, to);
      if (!entries || entries.length === 0) throw new Error(`decided slots [${applied}, ${to}) cannot be read from the log`);
      for (const e of entries) {
        switch (e.kind) {
          case "entry": {
            if (e.idx < this.machine.appliedRevision) break;
            const r = this.machine.apply(e.idx + 1, e.entry);
            appliedCount++;
            if ((e.entry.kind === "put" || e.entry.kind === "delete") && e.entry.requestId !== "") results.push([proposalKey(e.entry), r]);
            break;
          }
          case "stopsign":
            if (e.idx >= this.machine.appliedRevision) {
              this.machine.skip(e.idx + 1);
              this.hooks.stopSignApplied(e.idx, e.stopSign.metadata);
            }
            break;
          case "snapshotted":
            this.machine.installSnapshot(e.snapshot);
            break;
          case "trimmed":
            throw new Error(`slots below ${e.trimmedIdx} were trimmed before this node applied them (applied ${applied})`);
        }
      }
      if (this.machine.appliedRevision === applied) throw new Error(`apply made no progress at slot ${applied}`);
    }
    if (appliedCount > 0) this.metrics.commitEntries.observe(appliedCount);
    return results;
  }

  private send(outgoing: CoreMessage[]): void {
    if (outgoing.length === 0) return;
    const byPeer = new Map<number, CoreMessage[]>();
    for (let m of outgoing) {
      const sync = syncOf(m);
      if (sync?.snapshot?.snapshot.kind === "stored") {
        const offer = this.hooks.offerSnapshot(sync.snapshot.snapshot.lastRevision, m.to);
        // No copy to offer yet: drop the message, as the network may. The core re-sends it (its resend timer,
        // or the receiver's next request), and by then the copy is ready.
        if (offer === undefined) continue;
        // The receiver is pulling this offer and holds the message that carried it (node/state-transfer.ts):
        // a re-send under the same ballot would only be serialized, shipped and dropped there, megabytes of
        // log suffix each time, while the transfer runs. Skip it, as the network may; after the fetch the
        // receiver answers the one it holds, and a message under a new ballot still goes.
        const key = `${offer.transferId} ${m.kind} ${ballotText(m)}`;
        if (this.hooks.offerInFlight(m.to, offer.transferId) && this.offerSent.get(m.to) === key) continue;
        this.offerSent.set(m.to, key);
        m = withSyncSnapshot(m, offer);
      }
      const list = byPeer.get(m.to);
      if (list) list.push(m);
      else byPeer.set(m.to, [m]);
    }
    for (const [to, messages] of byPeer) {
      for (let i = 0; i < messages.length; i += this.limits.peerBatchMessagesMax) {
        const batch = messages.slice(i, i + this.limits.peerBatchMessagesMax);
        this.metrics.peerBatchMessages.observe(batch.length);
        this.hooks.send(to, batch);
      }
    }
  }

  private answer(results: Array<[string, ApplyResult]>): void {
    for (const [requestId, result] of results) {
      const waiters = this.proposals.get(requestId);
      if (!waiters) continue;
      this.proposals.delete(requestId);
      for (const w of waiters) {
        clearTimeout(w.timer);
        this.proposalCount--;
        w.resolve(result);
      }
    }
    for (const dropped of this.core.takeDroppedProposals()) {
      const id = dropped.entry.kind === "put" || dropped.entry.kind === "delete" ? proposalKey(dropped.entry) : "";
      // Never placed in a slot (a StopSign took the configuration's end first): proposed again in the next
      // configuration, or failed there if this node does not lead it (reproposeParked).
      if (dropped.reason === "reconfigured" && id !== "" && this.proposals.has(id)) {
        this.parked.push(dropped.entry as Command & { requestId: string });
        continue;
      }
      this.failProposal(id, unavailable(`the write could not be decided (${dropped.reason}); retry it`, this.hooks.leaderHint()));
    }
    this.answerReads();
  }

  private answerReads(): void {
    const ready = this.core.takeReadyReads();
    if (ready.length > 0) this.metrics.readBatch.observe(ready.length);
    for (const r of ready) {
      const waiter = this.reads.get(r.token);
      if (!waiter) continue;
      this.reads.delete(r.token);
      this.readyReads.push({ idx: r.idx, waiter });
    }
    if (this.readyReads.length > 1) this.readyReads.sort((a, b) => a.idx - b.idx);
    for (const token of this.core.takeFailedReads()) {
      const waiter = this.reads.get(token);
      if (!waiter) continue;
      this.reads.delete(token);
      clearTimeout(waiter.timer);
      waiter.reject(unavailable("leadership changed during the read; retry it", this.hooks.leaderHint()));
    }
    const applied = this.machine.appliedRevision;
    let served = 0;
    while (served < this.readyReads.length && this.readyReads[served]!.idx <= applied) {
      const { waiter } = this.readyReads[served]!;
      clearTimeout(waiter.timer);
      waiter.resolve(applied);
      served++;
    }
    if (served > 0) this.readyReads = this.readyReads.slice(served);
  }

  /** Leader / configuration / removal changes: fail everything pending at a leader that lost leadership. */
  private observeChanges(): void {
    const leader = this.leaderId();
    const configurationId = this.core.getConfiguration().configurationId;
    const removed = this.core.isRemoved();
    if (leader === this.lastLeader && configurationId === this.lastConfigurationId && removed === this.lastRemoved) return;
    const wasLeader = this.lastLeader === this.selfId;
    this.lastLeader = leader;
    this.lastConfigurationId = configurationId;
    this.lastRemoved = removed;
    if (wasLeader && leader !== this.selfId) {
      this.failAll(unavailable("this node lost leadership; retry at the new leader", this.hooks.leaderHint()));
    }
    this.hooks.changed();
  }

  /**
   * Proposes again the writes held while a StopSign closed the configuration (propose, answer), once the
   * core takes proposals again: in the next configuration, which this node leads if it decided the
   * StopSign. They were never placed in a slot, and each carries its request id, so a write can take effect
   * once at most (de-dup) however often it is proposed. Where this node does not lead, they fail with the
   * leader hint, as before.
   */
  private reproposeParked(): void {
    if (this.parked.length === 0 || this.stopped) return;
    const held = this.parked;
    this.parked = [];
    const leads = this.isLeader() && !this.core.isRemoved();
    let appended = false;
    for (const command of held) {
      const key = proposalKey(command as Command & { kind: "put" | "delete" });
      if (!this.proposals.has(key)) continue; // timed out or failed meanwhile
      if (!leads) {
        this.failProposal(key, unavailable("the configuration changed and this node does not lead the next one; retry at the leader", this.hooks.leaderHint()));
        continue;
      }
      try {
        this.core.append(command);
        appended = true;
      } catch (e) {
        if (e instanceof ProposalError && e.code === "reconfigured") this.parked.push(command);
        else this.failProposal(key, proposalFailure(e, this.hooks.leaderHint()));
      }
    }
    if (appended) this.input();
  }

  /** Fails every pending request (leadership lost, node stopping). */
  failAll(error: OpError): void {
    this.parked = [];
    this.deferredReads = [];
    for (const id of [...this.proposals.keys()]) this.failProposal(id, error);
    for (const [token, w] of this.reads) {
      this.reads.delete(token);
      clearTimeout(w.timer);
      w.reject(error);
    }
    for (const { waiter } of this.readyReads) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.readyReads = [];
  }

  private failProposal(requestId: string, error: OpError): void {
    const waiters = this.proposals.get(requestId);
    if (!waiters) return;
    this.proposals.delete(requestId);
    for (const w of waiters) {
      clearTimeout(w.timer);
      this.proposalCount--;
      w.reject(error);
    }
  }

  private expireProposal(requestId: string, waiter: Waiter<ApplyResult>): void {
    const waiters = this.proposals.get(requestId);
    const i = waiters?.indexOf(waiter) ?? -1;
    if (!waiters || i < 0) return;
    waiters.splice(i, 1);
    if (waiters.length === 0) this.proposals.delete(requestId);
    this.proposalCount--;
    waiter.reject(new OpError(Code.Unavailable, `the write was not decided within ${this.limits.requestTimeoutMs} ms; retry it with the same request id`));
  }

  /** Stops taking inputs; commits what is staged (so nothing acknowledged is lost) and fails the rest. */
  stop(): void {
    if (this.stopped) return;
    this.flushNow();
    clearTimeout(this.lazyCommit);
    if (this.lazyCommit) {
      this.lazyCommit = undefined;
      this.commit();
    }
    this.stopped = true;
    this.failAll(unavailable("node is shutting down"));
  }
}

function proposalFailure(e: unknown, hint: LeaderHintInfo | undefined): OpError {
  if (e instanceof ProposalError) {
    switch (e.code) {
      case "queue-full":
      case "reads-full":
        return resourceExhausted(e.message);
      case "reconfigured":
        return unavailable(`the configuration is changing (${e.message}); retry`, hint);
      case "removed":
        return unavailable("this node was removed from the cluster", hint);
      case "invalid-config":
        return new OpError(Code.InvalidArgument, e.message);
    }
  }
  return OpError.from(e);
}

type Sync = NonNullable<Extract<CoreMessage, { kind: "AcceptSync" }>["sync"]>;

/** The sync payload of a Promise, AcceptSync or CatchUp. */
function syncOf(m: CoreMessage): Sync | undefined {
  return m.kind === "Promise" || m.kind === "AcceptSync" || m.kind === "CatchUp" ? m.sync : undefined;
}

/** The configuration and ballot a sync message is sent under, as text (CatchUp has no ballot). */
function ballotText(m: CoreMessage): string {
  const n = (m as { n?: { n: number; priority: number; pid: number } }).n;
  return `${m.configurationId}/${n === undefined ? "-" : `${n.n}.${n.priority}.${n.pid}`}`;
}

/**
 * What a peer may send us. A stored snapshot is a handle to the sender's own tables (kv-snapshot.ts): it
 * means nothing here, and a staged one names our own staging area, which only state-transfer.ts may vouch
 * for. A Compaction request would make us snapshot past what we have applied; our nodes compact locally
 * only (node/compaction.ts) and never send one.
 */
function acceptable(m: CoreMessage): boolean {
  if (m.kind === "Compaction") return false;
  const kind = syncOf(m)?.snapshot?.snapshot.kind;
  return kind !== "stored" && kind !== "staged";
}

/**
 * The key a write's waiters and its core entry id share: the request id AND its target (operation and
 * key). Two writes in flight under one request id but on different targets are different entries: each
 * caller gets the answer to its own write (the second, applied later, is refused as a reused id), never
 * the other's. A retry of the same write shares the key, and so the first answer.
 */
export function proposalKey(command: { kind: "put" | "delete"; key: string; requestId: string }): string {
  return `${command.requestId}\u0000${dedupTargetOf(command)}`;
}

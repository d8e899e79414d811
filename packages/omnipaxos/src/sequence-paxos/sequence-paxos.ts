// Sequence Paxos state of one node in one configuration: the cached durable state (promise,
// acceptedRound, decidedIdx, log bounds), role and phase, and the log-writing helpers every
// handler uses so that StopSign tracking and storage stay consistent.
import { assert } from "../assert.ts";
import { BALLOT_ZERO, compareBallots, configurationBallot, type Ballot } from "../ballot.ts";
import type { ClusterConfig, ResolvedServerConfig } from "../config.ts";
import type { StopSign, StoredEntry } from "../log-entry.ts";
import type { Message } from "../messages.ts";
import type { Outbox } from "../outbox.ts";
import type { SnapshotSpec } from "../snapshot.ts";
import type { Storage } from "../storage.ts";
import { quorumSize } from "../quorum.ts";
import type { FollowerFlags } from "./follower.ts";
import type { LeaderState } from "./leader-state.ts";
import { Proposals } from "./proposals.ts";
import { ReadIndex } from "./read-index.ts";

export type Role = "leader" | "follower";
export type Phase = "none" | "prepare" | "accept" | "recover";

export interface PaxosOptions<T, S> {
  snapshot: SnapshotSpec<T, S> | undefined;
  entryId: ((entry: T) => string | number) | undefined;
}

export class SequencePaxos<T, S> {
  readonly pid: number;
  readonly peers: number[];
  readonly quorum: number;
  // Cached durable state. Invariant: equal to storage's after every handler.
  promise: Ballot;
  acceptedRound: Ballot;
  decidedIdx: number;
  /** Invariant: compactedIdx <= decidedIdx <= acceptedIdx = storage.getLogLen(). */
  acceptedIdx: number;
  compactedIdx: number;

  role: Role = "follower";
  phase: Phase = "none";
  /** Leader state while role === "leader". */
  leader: LeaderState<T, S> | undefined;
  /** Slot of this configuration's StopSign if one is in the log. */
  stopSignIdx: number | undefined;
  /** Ticks since the last resend round. */
  resendTicks = 0;
  readonly proposals: Proposals<T, S>;
  readonly flags: FollowerFlags = { acceptedPending: false, prepareReqTo: undefined, staleSenders: new Set<number>() };
  readonly reads: ReadIndex<T, S>;

  constructor(
    readonly storage: Storage<T, S>,
    readonly config: ClusterConfig,
    readonly server: ResolvedServerConfig,
    readonly opts: PaxosOptions<T, S>,
    /** This node's incarnation (bumped at every construction), for forwarding sessions. */
    readonly incarnation: number,
    readonly out: Outbox<T, S>,
    /** Called (once) when this configuration's StopSign becomes decided. */
    readonly onStopSignDecided: (stopSign: StopSign, idx: number) => void,
  ) {
    this.pid = server.pid;
    this.peers = config.nodes.filter((p) => p !== server.pid);
    this.quorum = quorumSize(config.nodes.length);
    this.promise = storage.getPromise() ?? BALLOT_ZERO;
    this.acceptedRound = storage.getAcceptedRound() ?? BALLOT_ZERO;
    this.decidedIdx = storage.getDecidedIdx();
    this.acceptedIdx = storage.getLogLen();
    this.compactedIdx = storage.getCompactedIdx();
    assert(this.compactedIdx <= this.decidedIdx && this.decidedIdx <= this.acceptedIdx,
      () => `storage bounds broken: compacted ${this.compactedIdx} decided ${this.decidedIdx} accepted ${this.acceptedIdx}`);
    this.proposals = new Proposals(this);
    this.reads = new ReadIndex(this);
    this.scanForStopSign(this.decidedIdx, this.acceptedIdx);
  }

  /** May lead / count as synced in this configuration: configuration 1 members, or nodes that
   *  entered it by deciding its StopSign or were synced by one of its leaders. */
  isReady(): boolean {
    return this.config.configurationId === 1 || this.acceptedRound.configurationId === this.config.configurationId;
  }

  isLeaderInAccept(): boolean {
    return this.role === "leader" && this.phase === "accept";
  }

  /** The leader this node follows, if any (itself when leading). */
  currentLeader(): number | undefined {
    if (this.promise.configurationId !== this.config.configurationId) return undefined;
    // Our own ballot while we are not leading it: we stepped down (lost our quorum), and know of no other.
    if (this.promise.pid === this.pid && this.role !== "leader") return undefined;
    return this.promise.pid;
  }

  send(msg: Message<T, S>): void {
    this.out.push(msg);
  }

  // ---- durable state writes ----
  setPromise(n: Ballot): void {
    assert(compareBallots(n, this.promise) >= 0, () => `promise must not decrease`);
    this.promise = n;
    this.storage.setPromise(n);
  }

  setAcceptedRound(n: Ballot): void {
    this.acceptedRound = n;
    this.storage.setAcceptedRound(n);
  }

  /** Appends at the end of the log. */
  appendEntries(entries: readonly StoredEntry<T>[]): void {
    if (entries.length === 0) return;
    const start = this.acceptedIdx;
    this.storage.appendEntries(entries);
    this.acceptedIdx += entries.length;
    this.noteStopSigns(entries, start);
  }

  /** Replaces the log from fromIdx. `decided`: the entries are decided slots (catch-up), which may
   *  run past this configuration's StopSign into the next configurations. */
  appendOnPrefix(fromIdx: number, entries: readonly StoredEntry<T>[], decided = false): void {
    assert(fromIdx >= this.compactedIdx && fromIdx <= this.acceptedIdx, () => `appendOnPrefix(${fromIdx}) outside [${this.compactedIdx}, ${this.acceptedIdx}]`);
    assert(fromIdx >= this.decidedIdx || fromIdx + entries.length >= this.decidedIdx, () => `appendOnPrefix(${fromIdx}) would drop decided slots below ${this.decidedIdx}`);
    this.storage.appendOnPrefix(fromIdx, entries);
    this.acceptedIdx = fromIdx + entries.length;
    if (this.stopSignIdx !== undefined && this.stopSignIdx >= fromIdx) this.stopSignIdx = undefined;
    this.noteStopSigns(entries, fromIdx, decided);
  }

  /** Raises decidedIdx (never beyond the log). Fires the StopSign hook when it gets decided. */
  setDecidedIdx(idx: number): void {
    if (idx <= this.decidedIdx) return;
    assert(idx <= this.acceptedIdx, () => `decidedIdx ${idx} beyond acceptedIdx ${this.acceptedIdx}`);
    this.decidedIdx = idx;
    this.storage.setDecidedIdx(idx);
    this.proposals.onDecided();
    this.reads.onDecided();
    const ss = this.stopSignIdx;
    if (ss !== undefined && idx > ss) {
      const e = this.storage.getEntries(ss, ss + 1)[0]!;
      assert(e.kind === "stopsign", () => `slot ${ss} should hold the StopSign`);
      this.onStopSignDecided(e.stopSign, ss);
    }
  }

  /** Any slot of the current configuration after its StopSign is a bug. */
  private noteStopSigns(entries: readonly StoredEntry<T>[], startIdx: number, decided = false): void {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.kind !== "stopsign") continue;
      if (e.stopSign.nextConfig.configurationId <= this.config.configurationId) continue; // an earlier configuration's
      this.stopSignIdx = startIdx + i;
      if (decided) return; // the first StopSign after our configuration ends it; later slots belong to later ones
      assert(startIdx + i === this.acceptedIdx - 1, () => `slot ${startIdx + i} is a StopSign but the log continues to ${this.acceptedIdx}`);
    }
  }

  private scanForStopSign(fromIdx: number, toIdx: number): void {
    const from = Math.max(fromIdx - 1, this.compactedIdx);
    if (from >= toIdx) return;
    const entries = this.storage.getEntries(from, toIdx);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.kind === "stopsign" && e.stopSign.nextConfig.configurationId > this.config.configurationId) this.stopSignIdx = from + i;
    }
  }

  /** Entering this configuration by deciding the previous StopSign: the fresh initial state. */
  enterAsReady(): void {
    this.setAcceptedRound(configurationBallot(this.config.configurationId));
  }
}

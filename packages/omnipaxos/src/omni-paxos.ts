// The public OmniPaxos node: a pure, deterministic, sans-IO state machine (Ballot Leader
// Election + Sequence Paxos). The application drives it: inputs in, persist, send, apply.
import { assert, unreachable } from "./assert.ts";
import { BALLOT_ZERO, compareBallots, type Ballot } from "./ballot.ts";
import { BallotLeaderElection } from "./ballot-leader-election.ts";
import { ConfigError, resolveServerConfig, validateClusterConfig, validateConfig, type ClusterConfig, type OmniPaxosConfig, type ResolvedServerConfig } from "./config.ts";
import { CompactionError, ProposalError, type DroppedProposal, type ReadyRead } from "./errors.ts";
import { limits } from "./limits.ts";
import type { ConfigurationRecord, LogEntry, StopSign, StoredEntry } from "./log-entry.ts";
import type { CatchUp, CatchUpRequest, Message } from "./messages.ts";
import { Outbox } from "./outbox.ts";
import type { SnapshotSpec } from "./snapshot.ts";
import type { Storage } from "./storage.ts";
import { applyCatchUp, buildCatchUp } from "./sequence-paxos/catch-up.ts";
import { readLog } from "./sequence-paxos/log-reader.ts";
import * as compaction from "./sequence-paxos/compaction.ts";
import { followerFlush, followerResend, handleAcceptDecide, handleAcceptSync, handleDecide, handleNotAccepted, handlePrepare, stepDown as stepDownAsLeader } from "./sequence-paxos/follower.ts";
import { handleProposalForward, placeOwnUnplaced } from "./sequence-paxos/forwarding.ts";
import { appendAsLeader, becomeLeader, configurationClosed, flushBatch, handleAccepted, handlePrepareReq, handlePromise, leaderResend, placeQueued } from "./sequence-paxos/leader.ts";
import { SequencePaxos } from "./sequence-paxos/sequence-paxos.ts";

export interface OmniPaxosOptions<T, S> {
  /** Needed for snapshot(), and to sync nodes that are behind a compacted prefix. */
  snapshot?: SnapshotSpec<T, S>;
  /**
   * A unique, stable id per appended entry (e.g. the client request id); give it on every node or
   * on none. With it, a proposal whose leader changed before deciding it is retried until decided:
   * once its slot is decided it is checked by id (ours: done; another value: proposed again), and an
   * unacknowledged forward is placed by the next leader at most once (it looks for the id first).
   * Without it such proposals are reported via takeDroppedProposals() ("leader-changed").
   */
  entryId?: (entry: T) => string | number;
}

/** For status pages and metrics. */
export interface OmniPaxosStatus {
  pid: number;
  configurationId: number;
  leader: number | undefined;
  ballot: Ballot;
  promise: Ballot;
  role: "leader" | "follower";
  phase: "prepare" | "accept" | "recover" | "none";
  quorumConnected: boolean;
  ready: boolean;
  removed: boolean;
  acceptedIdx: number;
  decidedIdx: number;
  compactedIdx: number;
  pendingProposalCount: number;
  pendingReadCount: number;
}

/**
 * One OmniPaxos node. Who acts, in what order (the durability argument, see storage.ts):
 *   1. feed inputs: handleIncoming(msg) / tick() / append(entry) / readIndex(token) ...;
 *      the core writes to storage synchronously as it goes;
 *   2. take = takeOutgoingMessages() (this also flushes the leader's batch);
 *   3. make every storage write so far durable, THEN send `take`;
 *   4. apply decided slots (readDecidedSuffix from your applied index), answer ready reads
 *      (takeReadyReads / takeFailedReads) and dropped proposals (takeDroppedProposals).
 * Constructing on the storage of a crashed node is a restart.
 */
export class OmniPaxos<T, S = never> {
  private readonly server: ResolvedServerConfig;
  private readonly out = new Outbox<T, S>();
  private record: ConfigurationRecord;
  private sp: SequencePaxos<T, S>;
  private ble: BallotLeaderElection | undefined;
  /** stepDown() was called: this node is no candidate, and its followers re-elect without waiting. */
  private retiring = false;
  private removed: boolean;
  private pendingSwitch: { stopSign: StopSign; idx: number } | undefined;
  private dropped: DroppedProposal<T>[] = [];
  private failedReads: number[] = [];
  private tickCount = 0;
  /** Rate limit for cross-configuration notices: `${kind}:${pid}` -> tick last sent. */
  private lastNotice = new Map<string, number>();
  /** Removed node: members of the configuration known to hold our decided prefix. */
  private caughtUp = new Set<number>();

  constructor(config: OmniPaxosConfig, private readonly storage: Storage<T, S>, private readonly options: OmniPaxosOptions<T, S> = {}) {
    validateConfig(config);
    this.server = resolveServerConfig(config.server);
    const stored = storage.getConfiguration();
    const restart = storage.getPromise() !== undefined;
    const incarnation = (stored?.incarnation ?? 0) + 1;
    if (stored !== undefined && stored.cluster.configurationId >= config.cluster.configurationId) {
      this.record = { ...stored, incarnation };
    } else {
      // First start, or joining a later configuration on storage of an earlier one: keep only
      // the decided prefix (anything after it is an undecided tail of an ended configuration).
      this.record = { cluster: { configurationId: config.cluster.configurationId, nodes: config.cluster.nodes.slice() }, incarnation };
      if (storage.getLogLen() > storage.getDecidedIdx()) storage.appendOnPrefix(storage.getDecidedIdx(), []);
    }
    storage.setConfiguration(this.record);
    this.removed = !this.record.cluster.nodes.includes(this.server.pid);
    this.sp = this.makeSequencePaxos(this.record.cluster);
    this.ble = this.removed ? undefined : this.makeBle();
    if (this.sp.stopSignIdx !== undefined && this.sp.stopSignIdx < this.sp.decidedIdx) {
      const e = storage.getEntries(this.sp.stopSignIdx, this.sp.stopSignIdx + 1)[0]!;
      assert(e.kind === "stopsign", () => "stopSignIdx must hold a StopSign");
      this.pendingSwitch = { stopSign: e.stopSign, idx: this.sp.stopSignIdx };
      this.applyPendingSwitch();
    }
    if (restart && !this.removed) {
      this.sp.phase = "recover";
      followerResend(this.sp, undefined);
    }
  }

  private makeSequencePaxos(cluster: ClusterConfig): SequencePaxos<T, S> {
    const opts = { snapshot: this.options.snapshot, entryId: this.options.entryId };
    return new SequencePaxos<T, S>(this.storage, cluster, this.server, opts, this.record.incarnation ?? 1, this.out, (stopSign, idx) => {
      this.pendingSwitch ??= { stopSign, idx };
    });
  }

  private makeBle(): BallotLeaderElection {
    const sp = this.sp;
    // Start at n = 0: a restarted node must not pre-empt a healthy leader (bumpAbove handles the promise if elected).
    const initialN = 0;
    const ble = new BallotLeaderElection(
      this.server.pid, sp.config.configurationId, sp.peers, this.server.leaderPriority, initialN, this.server.electionTickTimeout, this.out,
      () => this.sp.isReady() && !this.retiring, () => this.retiring,
    );
    ble.startRound();
    return ble;
  }

  // ---- proposals ----

  /** Proposes `entry`. Throws ProposalError: "removed", "reconfigured" (a StopSign is in the log:
   *  this configuration takes no more entries), "queue-full" (limits.pendingProposalsMax). */
  append(entry: T): void {
    this.checkCanPropose();
    this.propose({ kind: "entry", entry });
  }

  /** Proposes a StopSign ending this configuration; `nextConfig.configurationId` must be the
   *  current one + 1. Watch getConfiguration() for the outcome. */
  reconfigure(nextConfig: ClusterConfig, metadata?: Uint8Array): void {
    try {
      validateClusterConfig(nextConfig, "nextConfig");
    } catch (e) {
      if (e instanceof ConfigError) throw new ProposalError("invalid-config", e.message);
      throw e;
    }
    const cur = this.record.cluster.configurationId;
    if (nextConfig.configurationId !== cur + 1) {
      throw new ProposalError("invalid-config", `nextConfig.configurationId must be ${cur + 1} (the current configuration is ${cur}), got ${nextConfig.configurationId}`);
    }
    this.checkCanPropose();
    const stopSign: StopSign = { nextConfig: { configurationId: nextConfig.configurationId, nodes: nextConfig.nodes.slice() }, ...(metadata !== undefined ? { metadata } : {}) };
    this.propose({ kind: "stopsign", stopSign });
  }

  private checkCanPropose(): void {
    if (this.removed) throw new ProposalError("removed", `node ${this.server.pid} is not a member of configuration ${this.record.cluster.configurationId}`);
    if (configurationClosed(this.sp)) throw new ProposalError("reconfigured", `configuration ${this.record.cluster.configurationId} has a StopSign; propose in the next configuration`);
    if (!this.sp.proposals.hasRoom()) throw new ProposalError("queue-full", `more than ${limits.pendingProposalsMax} proposals are pending; retry later`);
  }

  private propose(e: StoredEntry<T>): void {
    if (this.sp.isLeaderInAccept()) appendAsLeader(this.sp, e, true);
    else this.sp.proposals.enqueue(e);
    this.applyPendingSwitch();
  }

  // ---- time and messages ----

  tick(): void {
    this.tickCount++;
    if (this.removed) return this.removedTick();
    const sp = this.sp;
    const ble = this.ble!;
    ble.observePromise(sp.promise);
    if (ble.tick()) this.checkLeader();
    if (++sp.resendTicks >= this.server.resendMessageTickTimeout) {
      sp.resendTicks = 0;
      if (sp.role === "leader") leaderResend(sp);
      else followerResend(sp, ble.leader.pid !== 0 ? ble.leader.pid : undefined);
      sp.proposals.resend();
      sp.reads.resend();
    }
    this.flush();
  }

  /**
   * A removed node holds the whole prefix the next configuration starts from. Until each member
   * of it reports having that prefix, it offers it (ConfigurationEnded -> CatchUpRequest ->
   * CatchUp), so that even a configuration made only of new, empty members can start.
   */
  private removedTick(): void {
    if (this.tickCount % this.server.resendMessageTickTimeout !== 0) return;
    for (const to of this.record.cluster.nodes) {
      if (!this.caughtUp.has(to)) this.sendNotice("ConfigurationEnded", to);
    }
  }

  /** After a BLE round: if we were elected, become the Sequence Paxos leader. */
  private checkLeader(): void {
    const sp = this.sp;
    const ble = this.ble!;
    const l = ble.leader;
    if (sp.role === "leader" && l.pid !== this.server.pid) return this.loseLeadership();
    if (l.pid !== this.server.pid || !sp.isReady()) return;
    if (sp.role === "leader" && sp.leader !== undefined && compareBallots(sp.leader.n, l) === 0) return;
    if (compareBallots(l, sp.promise) <= 0) ble.bumpAbove(sp.promise);
    becomeLeader(sp, ble.leader);
  }

  /**
   * BLE no longer elects us (no quorum heard for a round, or we retire): stop leading before any other
   * leader shows up, so that pending proposals and reads fail over now. Safe at any time: it only stops
   * this node from acting as leader; the ballot stays promised, and our unflushed batch is requeued as
   * when a higher ballot deposes us. In "recover" the node asks its peers for a Prepare (PrepareReq),
   * which reaches whichever leader the others elect once the partition heals.
   */
  private loseLeadership(): void {
    const sp = this.sp;
    const unflushedFromIdx = sp.acceptedIdx;
    stepDownAsLeader(sp);
    sp.proposals.onPromiseChanged(unflushedFromIdx);
    sp.phase = "recover";
  }

  handleIncoming(msg: Message<T, S>): void {
    if (msg.to !== this.server.pid || msg.from === this.server.pid) return;
    const cid = this.record.cluster.configurationId;
    if (msg.kind === "CatchUp") this.handleCatchUp(msg);
    else if (msg.configurationId < cid) {
      if (msg.kind === "CatchUpRequest") this.answerCatchUp(msg);
      else this.notice("ConfigurationEnded", msg.from);
    } else if (msg.configurationId > cid) {
      this.notice("CatchUpRequest", msg.from);
    } else if (msg.kind === "ConfigurationEnded") {
      // From a removed member of our configuration: it offers the prefix we may lack.
      if (!this.removed) this.notice("CatchUpRequest", msg.from);
    } else if (msg.kind === "CatchUpRequest") {
      if (this.removed) {
        if (msg.decidedIdx >= this.sp.decidedIdx) this.caughtUp.add(msg.from);
        else this.answerCatchUp(msg);
      }
    } else if (!this.removed) {
      this.dispatch(msg);
    }
    this.applyPendingSwitch();
  }

  private dispatch(msg: Message<T, S>): void {
    const sp = this.sp;
    switch (msg.kind) {
      case "HeartbeatRequest": return this.ble!.handleHeartbeatRequest(msg);
      case "HeartbeatReply": return this.ble!.handleHeartbeatReply(msg);
      case "PrepareReq": return handlePrepareReq(sp, msg);
      case "Prepare": return handlePrepare(sp, msg);
      case "Promise": return handlePromise(sp, msg);
      case "AcceptSync": return handleAcceptSync(sp, msg);
      case "AcceptDecide": return handleAcceptDecide(sp, msg);
      case "Accepted": return handleAccepted(sp, msg);
      case "Decide": return handleDecide(sp, msg);
      case "NotAccepted": return handleNotAccepted(sp, msg);
      case "Compaction": return compaction.handleCompaction(sp, msg);
      case "ProposalForward": return handleProposalForward(sp, msg);
      case "ProposalAck": return sp.proposals.handleAck(msg);
      case "ReadQuorumRequest": return sp.reads.handleRequest(msg);
      case "ReadQuorumReply": return sp.reads.handleReply(msg);
      case "ConfigurationEnded": return; // same configuration: nothing ended for us
      case "CatchUpRequest": return; // same configuration: the leader syncs it
      case "CatchUp": return;
      default: return unreachable(msg);
    }
  }

  /** Batches, coalesced Accepted, forwarded proposals and read rounds go out here. */
  takeOutgoingMessages(): Message<T, S>[] {
    this.flush();
    return this.out.take();
  }

  private flush(): void {
    if (!this.removed) {
      const sp = this.sp;
      if (sp.role === "leader") {
        placeOwnUnplaced(sp);
        if (sp.isLeaderInAccept()) placeQueued(sp); // e.g. proposals settle() re-queued
        flushBatch(sp);
      }
      followerFlush(sp);
      sp.proposals.forward();
      sp.reads.flush();
    }
    this.applyPendingSwitch();
  }

  // ---- reconfiguration ----

  /** Runs after every input: enters the next configuration once our StopSign is decided. */
  private applyPendingSwitch(): void {
    const p = this.pendingSwitch;
    if (p === undefined) return;
    this.pendingSwitch = undefined;
    const old = this.sp;
    assert(old.decidedIdx > p.idx, () => `switching configuration before StopSign ${p.idx} is decided`);
    const wasLeader = old.role === "leader";
    if (wasLeader) flushBatch(old); // the Decide of the StopSign still goes out in the old configuration
    // Nothing of this configuration follows its StopSign; decided slots past it (catch-up) stay.
    const keep = Math.max(p.idx + 1, old.decidedIdx);
    if (old.acceptedIdx > keep) old.appendOnPrefix(keep, []);
    this.enterConfiguration({ cluster: p.stopSign.nextConfig, ...(p.stopSign.metadata !== undefined ? { metadata: p.stopSign.metadata } : {}) }, old.decidedIdx);
    // The leader that decided the StopSign goes on leading (its Prepare follows the Decide above, so the
    // members that switch on that Decide promise at once): a membership change moves no leadership and
    // costs writes one round trip, not an election round (BallotLeaderElection.assumeLeadership).
    if (wasLeader && this.ble !== undefined && !this.retiring) {
      this.ble.assumeLeadership();
      this.checkLeader();
    }
  }

  /** Leaves the current configuration (its StopSign is decided, or we caught up past it). */
  private enterConfiguration(record: ConfigurationRecord, decidedIdx: number): void {
    const old = this.sp;
    old.proposals.onConfigurationEnded();
    old.reads.failAll();
    this.dropped.push(...old.proposals.takeDropped());
    this.failedReads.push(...old.reads.takeFailed());
    assert(old.decidedIdx >= decidedIdx, () => "entering a configuration without its decided prefix");
    this.record = {
      cluster: { configurationId: record.cluster.configurationId, nodes: record.cluster.nodes.slice() },
      ...(record.metadata !== undefined ? { metadata: record.metadata } : {}),
      incarnation: this.record.incarnation ?? 1,
    };
    this.storage.setConfiguration(this.record);
    this.removed = !this.record.cluster.nodes.includes(this.server.pid);
    this.sp = this.makeSequencePaxos(this.record.cluster);
    this.sp.enterAsReady();
    this.ble = this.removed ? undefined : this.makeBle();
  }

  private notice(kind: "ConfigurationEnded" | "CatchUpRequest", to: number): void {
    if (kind === "ConfigurationEnded" && !this.canServeCatchUp()) return;
    const key = `${kind}:${to}`;
    const last = this.lastNotice.get(key);
    if (last !== undefined && this.tickCount - last < this.server.resendMessageTickTimeout) return;
    this.lastNotice.set(key, this.tickCount);
    this.sendNotice(kind, to);
  }

  private sendNotice(kind: "ConfigurationEnded" | "CatchUpRequest", to: number): void {
    const base = { from: this.server.pid, to, configurationId: this.record.cluster.configurationId };
    if (kind === "ConfigurationEnded") this.out.push({ kind, ...base });
    else this.out.push({ kind, ...base, decidedIdx: this.sp.decidedIdx });
  }

  private canServeCatchUp(): boolean {
    return this.removed || this.sp.isReady();
  }

  private answerCatchUp(req: CatchUpRequest): void {
    if (!this.canServeCatchUp()) return;
    const sync = buildCatchUp(this.sp, req);
    if (sync === undefined) return;
    this.out.push({
      kind: "CatchUp", from: this.server.pid, to: req.from, configurationId: this.record.cluster.configurationId,
      sync, decidedIdx: this.sp.decidedIdx, configuration: this.record.cluster,
      ...(this.record.metadata !== undefined ? { metadata: this.record.metadata } : {}),
    });
  }

  private handleCatchUp(msg: CatchUp<T, S>): void {
    const cid = this.record.cluster.configurationId;
    if (msg.configuration.configurationId === cid && !this.removed && !this.sp.isReady()) {
      // A joining member that no leader synced yet: the prefix comes from a removed member.
      if (!applyCatchUp(this.sp, msg)) return this.sendNotice("CatchUpRequest", msg.from);
      if (this.sp.acceptedIdx > this.sp.decidedIdx) this.sp.appendOnPrefix(this.sp.decidedIdx, []);
      this.sp.enterAsReady();
      return;
    }
    if (msg.configuration.configurationId <= cid) return;
    const complete = applyCatchUp(this.sp, msg);
    if (!complete) {
      this.applyPendingSwitch();
      this.sendNotice("CatchUpRequest", msg.from);
      return;
    }
    this.pendingSwitch = undefined;
    if (this.sp.acceptedIdx > this.sp.decidedIdx) this.sp.appendOnPrefix(this.sp.decidedIdx, []);
    this.enterConfiguration({ cluster: msg.configuration, ...(msg.metadata !== undefined ? { metadata: msg.metadata } : {}) }, msg.decidedIdx);
  }

  // ---- reads of the log ----

  read(idx: number): LogEntry<T, S> | undefined {
    const r = this.readEntries(idx, idx + 1);
    return r?.[0];
  }

  /** Slots [fromIdx, toIdx) clipped to the log; a compacted prefix is one "snapshotted"/"trimmed" item. */
  readEntries(fromIdx: number, toIdx: number): LogEntry<T, S>[] | undefined {
    return readLog(this.sp, fromIdx, toIdx);
  }

  /** Decided slots [fromIdx, decidedIdx); undefined if there are none. */
  readDecidedSuffix(fromIdx: number): LogEntry<T, S>[] | undefined {
    return this.readEntries(fromIdx, this.sp.decidedIdx);
  }

  // ---- compaction ----

  /** Leader only. Compacts slots below idx (default: decided on every member). With a
   *  SnapshotSpec this snapshots instead of dropping. Throws CompactionError. */
  trim(idx?: number): void {
    if (this.removed) throw new CompactionError("not-leader", "this node was removed from the configuration");
    compaction.trim(this.sp, idx);
  }

  /** Folds decided slots below idx (default decidedIdx) into a snapshot; unless localOnly, the
   *  leader asks every member to do the same. Throws CompactionError. */
  snapshot(idx?: number, localOnly = true): void {
    compaction.snapshot(this.sp, idx, localOnly);
  }

  // ---- read index ----

  /** Linearizable read barrier (see CORE-API.md). On a non-leader the token fails at once. */
  readIndex(token: number): void {
    if (this.sp.reads.pendingCount() >= limits.pendingReadsMax) throw new ProposalError("reads-full", `more than ${limits.pendingReadsMax} reads pending; retry later`);
    if (this.removed) this.failedReads.push(token);
    else this.sp.reads.request(token);
  }

  takeReadyReads(): ReadyRead[] {
    return this.sp.reads.takeReady();
  }

  takeFailedReads(): number[] {
    const f = this.failedReads.concat(this.sp.reads.takeFailed());
    this.failedReads = [];
    return f;
  }

  takeDroppedProposals(): DroppedProposal<T>[] {
    const d = this.dropped.concat(this.sp.proposals.takeDropped());
    this.dropped = [];
    return d;
  }

  /**
   * Hands leadership over before a graceful shutdown: from now on this node is no candidate for
   * leader, and a follower that hears it say so re-elects at its next heartbeat round instead of
   * waiting for missed rounds. It keeps serving as a follower (forwarding, accepting) until it
   * stops. Not persisted: a restarted node is a candidate again. Safety never depends on it.
   */
  stepDown(): void {
    this.retiring = true;
  }

  // ---- state ----

  getCurrentLeader(): number | undefined {
    return this.removed ? undefined : this.sp.currentLeader();
  }
  getCurrentBallot(): Ballot { return this.ble?.ballot ?? BALLOT_ZERO; }
  getPromise(): Ballot { return this.sp.promise; }
  getDecidedIdx(): number { return this.sp.decidedIdx; }
  getAcceptedIdx(): number { return this.sp.acceptedIdx; }
  getCompactedIdx(): number { return this.sp.compactedIdx; }
  getConfiguration(): ClusterConfig { return this.record.cluster; }
  /** The StopSign that created the current configuration (undefined in configuration 1). */
  isReconfigured(): StopSign | undefined {
    if (this.record.cluster.configurationId === 1) return undefined;
    return { nextConfig: this.record.cluster, ...(this.record.metadata !== undefined ? { metadata: this.record.metadata } : {}) };
  }
  isRemoved(): boolean { return this.removed; }

  getStatus(): OmniPaxosStatus {
    const sp = this.sp;
    return {
      pid: this.server.pid, configurationId: this.record.cluster.configurationId, leader: this.getCurrentLeader(),
      ballot: this.getCurrentBallot(), promise: sp.promise, role: sp.role, phase: sp.phase,
      quorumConnected: this.ble?.quorumConnected ?? false, ready: sp.isReady(), removed: this.removed,
      acceptedIdx: sp.acceptedIdx, decidedIdx: sp.decidedIdx, compactedIdx: sp.compactedIdx,
      pendingProposalCount: sp.proposals.pendingCount(), pendingReadCount: sp.reads.pendingCount(),
    };
  }
}

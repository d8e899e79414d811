// The running node: its identity, lifecycle state (unprovisioned -> joining -> active -> removed),
// membership, the replica and everything around it (peer network, forwarder, watches, leader watchers).
// Membership changes (provision, join, add, remove) live in membership-changes.ts.

import { OmniPaxos, limits as coreLimits, type ClusterConfig } from "@omnimeta/omnipaxos";
import { normaliseUrl, type NodeOptions } from "../config.ts";
import type { Limits } from "../limits.ts";
import type { Logger } from "../log.ts";
import { ServerMetrics } from "../metrics.ts";
import { WATCH_GAP_EVERY_EVENTS, type UnsafeFlags } from "../unsafe.ts";
import type { NodeStore } from "../storage/index.ts";
import type { Command } from "../state-machine/command.ts";
import type { KvStateMachine } from "../state-machine/kv-state-machine.ts";
import { storedKvSnapshotSpec, type KvSnapshot } from "../state-machine/kv-snapshot.ts";
import { PeerClients } from "../peer/peer-clients.ts";
import { decodeBatch } from "../peer/codec.ts";
import type { LeaderHintInfo } from "../rpc/op-error.ts";
import { AddressBook } from "./address-book.ts";
import { LogCompaction } from "./compaction.ts";
import { LeaderForwarder } from "./leader-forwarder.ts";
import { decodeMembership, encodeMembership, type Membership } from "./membership.ts";
import type { NodeLifecycleState, NodeStatus } from "./node-status.ts";
import { carriesSnapshot, PeerNetwork } from "./peer-network.ts";
import { proposalKey, Replica, type CoreMessage } from "./replica.ts";
import { SnapshotOffers } from "../snapshot/snapshot-offers.ts";
import { StateTransfer, type TransferProgress } from "./state-transfer.ts";
import { RequestRouter } from "./request-router.ts";
import { WatchHub } from "./watch-hub.ts";

const MEMBERSHIP_META = "membership";
const defaultTickMs = 50;
/** How long close() waits for requests in flight before failing them. */
const drainMs = 2000;

export interface LeaderInfo {
  leaderId: number;
  leaderName: string;
  leaderAddress: string;
  ballot: { n: number; priority: number; pid: number } | undefined;
  configurationId: number;
  observedAtUnixMs: number;
}

export class NodeRuntime {
  readonly metrics = new ServerMetrics();
  readonly addresses = new AddressBook();
  readonly clients: PeerClients;
  readonly forwarder: LeaderForwarder;
  readonly router: RequestRouter;
  readonly watches: WatchHub;
  state: NodeLifecycleState = "unprovisioned";
  stateDetail = "";
  address = "";
  membership: Membership | undefined;
  replica: Replica | undefined;
  /** The snapshots this node offers to peers, and the one it receives (state transfer). */
  offers: SnapshotOffers | undefined;
  private transfer: StateTransfer | undefined;
  private network: PeerNetwork | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly leaderListeners = new Set<(l: LeaderInfo) => void>();
  private readonly stateListeners = new Set<() => void>();
  private readonly flushWaiters = new Set<() => void>();
  private lastLeader: LeaderInfo | undefined;
  closing = false;
  /** Shutting down: new requests are refused while those in flight finish. */
  draining = false;
  /** Set by startNode: stops the node after a fatal error. */
  onFatal: (e: unknown) => void = () => {};
  private readonly compaction: LogCompaction;

  constructor(
    readonly options: NodeOptions,
    readonly store: NodeStore,
    readonly machine: KvStateMachine,
    readonly limits: Limits,
    readonly unsafe: UnsafeFlags,
    readonly logger: Logger,
  ) {
    this.clients = new PeerClients(options.peerRoutes ?? {});
    this.forwarder = new LeaderForwarder(this.clients, limits.forwardInflightMax, limits.requestTimeoutMs, logger);
    this.watches = new WatchHub(() => this.machine, limits.watchBufferEventsMax, unsafe.watchGap ? WATCH_GAP_EVERY_EVENTS : 0);
    this.router = new RequestRouter({
      replica: () => this.servingReplica(),
      leaderHint: () => this.leaderHint(),
      forwarder: this.forwarder,
      limits,
      unsafe,
      metrics: this.metrics,
    });
    this.compaction = new LogCompaction(limits.compactionSlots, logger, this.metrics.compactionSeconds);
    this.registerGauges();
  }

  get nodeId(): number {
    return this.store.identity.nodeId;
  }

  get clusterId(): string {
    return this.store.identity.clusterId ?? "";
  }

  /** Starts active when a configuration is persisted; otherwise the caller provisions or joins. */
  boot(): void {
    const record = this.store.getConfiguration();
    if (!record) return;
    this.membership = this.readMembership();
    this.startReplica(record.cluster);
  }

  /** The membership of the current configuration: the StopSign metadata the core persisted, else ours. */
  readMembership(): Membership | undefined {
    const metadata = this.store.getConfiguration()?.metadata;
    const ours = this.store.getMeta(MEMBERSHIP_META);
    const mine = ours ? decodeMembership(ours) : undefined;
    if (!metadata || metadata.length === 0) return mine;
    const m = decodeMembership(metadata);
    // Our copy knows the StopSign's slot (startIdx) when this node applied it.
    if (mine && mine.configuration.configurationId === m.configuration.configurationId) m.configuration.startIdx = mine.configuration.startIdx;
    return m;
  }

  /** Records the configuration a decided StopSign starts, with its slot, in the same commit. */
  private onStopSign(idx: number, metadata: Uint8Array | undefined): void {
    if (!metadata || metadata.length === 0) return;
    const next = decodeMembership(metadata);
    const current = this.membership?.configuration.configurationId ?? 0;
    if (next.configuration.configurationId < current) return; // an older StopSign replayed by catch-up
    next.configuration.startIdx = idx;
    this.store.setMeta(MEMBERSHIP_META, encodeMembership(next));
    if (next.configuration.configurationId === current) this.membership!.configuration.startIdx = idx;
  }

  /** Persists identity + membership and starts the core in `cluster` (provision, join, admit). */
  install(nodeId: number, membership: Membership): void {
    this.store.setClusterId(membership.clusterId);
    this.store.setNodeId(nodeId);
    this.store.setMeta(MEMBERSHIP_META, encodeMembership(membership));
    this.membership = membership;
    const cluster: ClusterConfig = {
      configurationId: membership.configuration.configurationId,
      nodes: membership.configuration.members.map((m) => m.nodeId),
    };
    this.startReplica(cluster);
    this.store.commit();
  }

  private startReplica(cluster: ClusterConfig): void {
    const nodeId = this.nodeId;
    if (this.membership) this.addresses.addMembers(this.membership.configuration.members);
    this.addresses.set(nodeId, this.address);
    const core = new OmniPaxos<Command, KvSnapshot>(
      {
        cluster,
        server: {
          pid: nodeId,
          // Every configuration elects afresh and, among equal priorities, the highest node id wins once it
          // has caught up: each join would then move leadership twice. Preferring the founding node keeps
          // the leader where it was during cluster formation; any node still takes over when it fails.
          leaderPriority: nodeId === 1 ? 1 : 0,
          ...(this.options.electionTicks !== undefined ? { electionTickTimeout: this.options.electionTicks } : {}),
        },
      },
      this.store,
      // entryId: a write whose leader changed before it was decided is re-proposed at most once by the
      // core (checked by request id) instead of being dropped; clients were already told UNAVAILABLE
      // and retry with the same id, which the state machine de-duplicates.
      // A snapshot is this node's own state tables (stored), so compaction costs O(1), not O(state).
      { snapshot: storedKvSnapshotSpec(this.machine), entryId: entryIdOf },
    );
    this.network = new PeerNetwork({
      clusterId: this.clusterId,
      selfId: nodeId,
      selfAddress: this.address,
      clients: this.clients,
      addresses: this.addresses,
      limits: this.limits,
      metrics: this.metrics,
      logger: this.logger,
    });
    this.offers = new SnapshotOffers(this.store, this.options.dataDir, nodeId, this.logger, (bytes) => this.metrics.addStateTransferBytes("sent", bytes), undefined, this.limits.snapshotOfferHoldMs);
    this.transfer = new StateTransfer({
      selfId: nodeId,
      clusterId: () => this.clusterId,
      staging: this.store.transfer,
      clients: this.clients,
      addresses: this.addresses,
      logger: this.logger,
      metrics: this.metrics,
      deliver: (m) => this.replica?.deliverTransferred(m),
    });
    // Whatever a transfer cut by a crash left in the staging area goes, a few thousand rows per turn.
    this.store.transfer.clear().catch((e: unknown) => this.logger.warn("emptying the transfer staging area failed", { error: e }));
    this.store.wal.onSynced = (seconds) => this.metrics.walFsyncSeconds.observe(seconds);
    this.replica = new Replica(core, this.machine, nodeId, {
      commit: (options) => this.store.commit(options),
      syncWal: (done) => this.store.wal.sync(done),
      syncWalNow: () => this.store.wal.syncNow(),
      send: (to, messages) => this.network?.send(to, messages),
      committed: (events, jump) => this.watches.publish(events, jump),
      offerSnapshot: (lastRevision, to) => this.offers?.offer(lastRevision, this.network?.reachable(to) ?? true),
      offerInFlight: (to, transferId) => this.offers?.isFetching(to, transferId) ?? false,
      snapshotOffered: (message, offer) => this.transfer?.offered(message, offer),
      changed: () => this.onChanged(),
      leaderHint: () => this.leaderHint(),
      fatal: (e) => this.onFatal(e),
      flushed: () => this.onFlushed(),
      stopSignApplied: (idx, metadata) => this.onStopSign(idx, metadata),
    }, this.limits, this.unsafe, this.metrics, this.logger);
    if (core.isRemoved()) this.setState("removed", removedDetail(cluster.configurationId));
    else if (this.needsCatchUp(core)) this.setState("joining", "catching up: receiving the state this node lacks");
    else this.setState("active", "");
    // The tick runs in the check phase (setImmediate), after the poll phase has handled the I/O that is
    // already waiting: after a stalled turn (a long fsync, a compaction), heartbeat replies that arrived
    // during the stall count for the round before it ends, so a busy node neither deposes a live leader
    // nor, as leader, steps down for want of a quorum that did answer.
    const timer = setInterval(() => setImmediate(() => {
      if (this.tickTimer !== timer) return;
      this.replica?.tick();
      this.offers?.releaseIdle();
    }), this.options.tickMs ?? defaultTickMs);
    this.tickTimer = timer;
    this.replica.tick();
  }

  /** Inbound consensus batch from a peer stream. Throws on a malformed batch (the stream is cut). */
  receive(from: number, fromAddress: string, batches: readonly Uint8Array[]): void {
    if (!this.replica) return;
    // Decode first: a batch that does not decode must not change what this node believes (the sender's address).
    const decoded = batches.map((b) => decodeBatch<CoreMessage>(b));
    // The sender's address is only believed when it is one this node could dial (fuzzing found a garbage
    // address learnt here crash the next PeerLink that dialled it).
    if (fromAddress !== "" && this.addresses.get(from) !== fromAddress && dialable(fromAddress, this.limits.addressBytesMax)) this.addresses.set(from, fromAddress);
    decoded.forEach((messages, i) => {
      if (carriesSnapshot(messages)) this.metrics.addStateTransferBytes("received", batches[i]!.length);
    });
    for (const messages of decoded) {
      this.metrics.peerMessagesReceived.inc(undefined, messages.length);
      this.replica.handleMessages(messages);
    }
  }

  servingReplica(): Replica | string {
    if (this.closing || this.draining) return "node is shutting down";
    switch (this.state) {
      case "unprovisioned":
        return "node is not provisioned: run `ctl cluster provision` or start it with --join";
      case "joining":
        return `node is joining the cluster${this.stateDetail ? `: ${this.stateDetail}` : ""}`;
      case "removed":
        return `node was removed from the cluster${this.stateDetail ? ` (${this.stateDetail})` : ""}`;
      case "active":
        return this.replica ?? "node is starting";
    }
  }

  leaderHint(): LeaderHintInfo | undefined {
    const leaderId = this.replica?.leaderId() ?? 0;
    if (leaderId === 0) return undefined;
    return { leaderId, leaderAddress: this.addresses.get(leaderId) ?? "" };
  }

  setState(state: NodeLifecycleState, detail: string): void {
    if (this.state !== state) this.logger.info("state", { state, detail: detail || undefined, nodeId: this.nodeId });
    this.state = state;
    this.stateDetail = detail;
    for (const l of [...this.stateListeners]) l();
  }

  onStateChange(listener: () => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Resolves after the next flush of the replica (membership changes wait on decided StopSigns). */
  nextFlush(): Promise<void> {
    return new Promise((resolve) => this.flushWaiters.add(resolve));
  }

  /** A node that joined a later configuration starts with an empty log and must receive the prefix
   *  its configuration starts from (the core's `ready`). */
  private needsCatchUp(core: Replica["core"]): boolean {
    return !core.getStatus().ready;
  }

  private onFlushed(): void {
    const replica = this.replica;
    if (replica) this.compaction.afterFlush(replica.core, this.machine.appliedRevision, this.offers?.heldRevision());
    if (this.state === "joining" && replica && !this.needsCatchUp(replica.core) && this.machine.appliedRevision >= replica.core.getDecidedIdx()) {
      this.setState("active", "");
    }
    if (this.flushWaiters.size === 0) return;
    const waiters = [...this.flushWaiters];
    this.flushWaiters.clear();
    for (const w of waiters) w();
  }

  private onChanged(): void {
    const replica = this.replica;
    if (!replica) return;
    const configurationId = replica.core.getConfiguration().configurationId;
    if (!this.membership || this.membership.configuration.configurationId !== configurationId) {
      const next = this.readMembership();
      if (next) {
        this.membership = next;
        this.addresses.addMembers(next.configuration.members);
        this.logger.info("configuration", {
          configurationId,
          members: next.configuration.members.map((m) => `${m.nodeId}:${m.name}`),
        });
      }
    }
    if (replica.core.isRemoved() && this.state !== "removed") {
      this.setState("removed", removedDetail(configurationId));
      this.watches.close();
    }
    const leader = this.currentLeader();
    if (!this.lastLeader || leader.leaderId !== this.lastLeader.leaderId || leader.configurationId !== this.lastLeader.configurationId) {
      if (leader.leaderId !== (this.lastLeader?.leaderId ?? 0)) {
        this.logger.info("leader", { leaderId: leader.leaderId, leaderName: leader.leaderName, ballot: leader.ballot });
      }
      this.lastLeader = leader;
      this.forwarder.leaderChanged(leader.leaderAddress);
      for (const l of [...this.leaderListeners]) l(leader);
    }
  }

  currentLeader(): LeaderInfo {
    const leaderId = this.replica?.leaderId() ?? 0;
    const member = this.membership?.configuration.members.find((m) => m.nodeId === leaderId);
    // The leader's ballot: what this node has promised (its own ballot is only a candidacy).
    const ballot = this.replica?.core.getPromise();
    return {
      leaderId,
      leaderName: member?.name ?? "",
      leaderAddress: leaderId ? (this.addresses.get(leaderId) ?? "") : "",
      ballot: ballot && leaderId ? { n: ballot.n, priority: ballot.priority, pid: ballot.pid } : undefined,
      configurationId: this.replica?.core.getConfiguration().configurationId ?? 0,
      observedAtUnixMs: Date.now(),
    };
  }

  onLeaderChange(listener: (l: LeaderInfo) => void): () => void {
    this.leaderListeners.add(listener);
    return () => this.leaderListeners.delete(listener);
  }

  status(): NodeStatus {
    const core = this.replica?.core;
    const s = core?.getStatus();
    const leaderId = s?.leader ?? 0;
    return {
      nodeId: this.nodeId,
      name: this.options.name,
      address: this.address,
      state: this.state,
      stateDetail: this.stateDetail,
      clusterId: this.clusterId,
      storageId: this.store.identity.storageId,
      configuration: this.membership?.configuration,
      leaderId,
      leaderAddress: leaderId ? (this.addresses.get(leaderId) ?? "") : "",
      isLeader: leaderId !== 0 && leaderId === this.nodeId,
      ballot: s ? { n: s.promise.n, priority: s.promise.priority, pid: s.promise.pid } : undefined,
      decidedIdx: s?.decidedIdx ?? 0,
      appliedIdx: this.machine.appliedRevision,
      compactedIdx: s?.compactedIdx ?? 0,
      acceptedIdx: s?.acceptedIdx ?? 0,
      transfer: this.transfer?.progress(),
    };
  }

  /** The snapshot this node is receiving, if any. */
  transferProgress(): TransferProgress | undefined {
    return this.transfer?.progress();
  }

  private registerGauges(): void {
    const m = this.metrics;
    m.isLeader.collect(() => [[undefined, this.replica?.isLeader() ? 1 : 0]]);
    m.leaderId.collect(() => [[undefined, this.replica?.leaderId() ?? 0]]);
    m.ballotN.collect(() => [[undefined, this.replica?.core.getPromise().n ?? 0]]);
    m.configurationId.collect(() => [[undefined, this.replica?.core.getConfiguration().configurationId ?? 0]]);
    m.members.collect(() => [[undefined, this.membership?.configuration.members.length ?? 0]]);
    m.decidedIdx.collect(() => [[undefined, this.replica?.core.getDecidedIdx() ?? 0]]);
    m.appliedIdx.collect(() => [[undefined, this.machine.appliedRevision]]);
    m.compactedIdx.collect(() => [[undefined, this.replica?.core.getCompactedIdx() ?? 0]]);
    m.stateTransferActive.collect(() => [[undefined, this.transfer?.progress() ? 1 : 0]]);
  }

  /**
   * A leader that is shutting down first steps down (the core stops being a candidate and tells its
   * followers, which re-elect at their next heartbeat round) and waits, at most 4 election rounds,
   * until another member leads. Meanwhile it keeps serving; afterwards it forwards to the new leader,
   * so clients see a handover instead of a dead leader and missed rounds.
   */
  private async handOverLeadership(): Promise<void> {
    const replica = this.replica;
    const memberCount = this.membership?.configuration.members.length ?? 0;
    if (replica === undefined || !replica.isLeader() || memberCount < 2) return;
    replica.core.stepDown();
    replica.wake();
    const roundMs = (this.options.electionTicks ?? coreLimits.electionTicksDefault) * (this.options.tickMs ?? defaultTickMs);
    const started = Date.now();
    const deadline = started + 4 * roundMs;
    // The leader can only change in a flush (ticks keep them coming), so wait for flushes, not a poll.
    while (Date.now() < deadline && !this.closing) {
      const leaderId = replica.leaderId();
      if (leaderId !== 0 && leaderId !== this.nodeId) {
        this.logger.info("leadership handed over", { leaderId, ms: Date.now() - started });
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.nextFlush(), new Promise((r) => (timer = setTimeout(r, deadline - Date.now())))]);
      clearTimeout(timer);
    }
    this.logger.warn("no other member took leadership before shutdown", { ms: Date.now() - started });
  }

  /** Stops serving: fails pending requests, commits what is staged, closes connections and the store. */
  async close(): Promise<void> {
    if (this.closing || this.draining) return;
    await this.handOverLeadership();
    if (this.closing || this.draining) return;
    // Drain: refuse new requests, let those in flight (here and forwarded) finish for a bounded time.
    this.draining = true;
    const deadline = Date.now() + drainMs;
    while (Date.now() < deadline && ((this.replica?.pendingCount ?? 0) > 0 || this.forwarder.inflight > 0)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.closing = true;
    clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    try {
      this.replica?.stop();
    } catch (e) {
      this.logger.error("final commit failed", { error: e });
    }
    this.watches.close();
    this.forwarder.close();
    this.transfer?.close();
    this.offers?.close();
    this.network?.close();
    this.clients.close();
    for (const w of this.flushWaiters) w();
    this.flushWaiters.clear();
  }
}

let localEntrySeq = 0;
function entryIdOf(entry: Command): string {
  if (entry.kind === "put" || entry.kind === "delete") return proposalKey(entry);
  // Only writes are ever appended by this server; anything else gets an id no other entry shares.
  return `local-${entry.kind}-${++localEntrySeq}`;
}

function removedDetail(configurationId: number): string {
  return `not a member of configuration ${configurationId}`;
}

/** An http(s)://HOST:PORT address (or HOST:PORT) within the length limit. */
function dialable(address: string, bytesMax: number): boolean {
  if (address.length > bytesMax) return false;
  try {
    const url = normaliseUrl(address);
    new URL(url); // HOST:PORT forms a URL cannot hold (e.g. "3[:7") throw here
    return /^https?:\/\/[^/\s]+:\d+$/.test(url);
  } catch {
    return false;
  }
}

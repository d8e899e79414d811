// The simulated cluster and its step loop: inputs (faults, appends), message delivery, ticks, then each
// node's end of turn (persist, then send). Invariants are checked after every step (invariants.ts).

import type { ClusterConfig, Message, OmniPaxosOptions, StoredEntry } from "../../src/index.ts";
import { DecidedLogChecker, type Slot } from "./checkers/decided-log.ts";
import { LeaderChecker } from "./checkers/leader.ts";
import { ProposalFateChecker } from "./checkers/proposal-fate.ts";
import { ReadIndexChecker } from "./checkers/read-index.ts";
import { SafetyViolation } from "./checkers/violation.ts";
import type { CoreModule } from "./core-module.ts";
import { type DigestState, digestMerge, digestOf } from "./digest-snapshot.ts";
import { Network } from "./network.ts";
import { Prng } from "./prng.ts";
import { type SimParams, drawParams } from "./sim-params.ts";
import { type Entry, SimNode } from "./sim-node.ts";

export type SimMessage = Message<Entry, DigestState>;

/**
 * Messages are shared, not copied (a copy per send cost more than half of the run time): frozen deeply
 * instead, so that any mutation of a sent or received message (or of the entries it carries) throws in
 * the core instead of leaking state between nodes.
 */
function deepFreeze<M>(value: M): M {
  if (typeof value !== "object" || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === "object" && v !== null && !Object.isFrozen(v)) deepFreeze(v);
    }
  } else {
    for (const k in value) deepFreeze((value as Record<string, unknown>)[k]);
  }
  return value;
}

/** A compact one-line rendering of a message for the trace. */
export function describeMessage(m: SimMessage): string {
  const { from: _f, to: _t, kind, ...rest } = m as SimMessage & Record<string, unknown>;
  return `${kind} ${JSON.stringify(rest, (k, v) => (k === "entries" && Array.isArray(v) && v.length > 8 ? `[${v.length} entries]` : v))}`;
}

export interface SimStats {
  appendedCount: number;
  decidedSlotCount: number;
  crashCount: number;
  restartCount: number;
  reconfigurationCount: number;
  snapshotCount: number;
  trimCount: number;
  partitionCount: number;
  unverifiedSnapshotCount: number;
  maxConfigurationId: number;
  /** Liveness probes left at a leader that was deposed without learning it (see liveness.ts). */
  orphanedProbeCount: number;
  readsConfirmedCount: number;
  droppedReportedCount: number;
}

export class Simulation {
  readonly prng: Prng;
  readonly faultPrng: Prng;
  readonly params: SimParams;
  readonly network: Network<SimMessage>;
  readonly nodes = new Map<number, SimNode>();
  readonly log: DecidedLogChecker = new DecidedLogChecker();
  readonly leaders = new LeaderChecker();
  readonly fates = new ProposalFateChecker();
  readonly reads = new ReadIndexChecker();
  tick = 0;
  /** Decided configurations by id (1 = initial) and the slot of the StopSign that ended each. */
  readonly configurations = new Map<number, ClusterConfig>();
  readonly stopSignIdx = new Map<number, number>();
  latestConfigurationId = 1;
  /** Configuration id of the node each value was appended at. */
  readonly appendedIn = new Map<Entry, number>();
  pendingReconfiguration: { configurationId: number; atTick: number } | undefined;
  private nextValue = 1;
  /** Print every delivered message in the trace (--messages). */
  traceMessages = false;
  /** Measure liveness against 10x the bound instead of enforcing it (--measure-liveness). */
  measureLivenessOnly = false;
  /** The last ProposalError of append(), for the trace. */
  lastRefusal = "";
  private readonly traced = new Map<number, string>();
  private nextNewPid = 100;
  /** A violation found inside a core callback (the snapshot spec), thrown after the step. */
  deferredViolation: SafetyViolation | undefined;
  readonly stats: SimStats = {
    appendedCount: 0, decidedSlotCount: 0, crashCount: 0, restartCount: 0, reconfigurationCount: 0,
    snapshotCount: 0, trimCount: 0, partitionCount: 0, unverifiedSnapshotCount: 0, maxConfigurationId: 1, orphanedProbeCount: 0,
    readsConfirmedCount: 0, droppedReportedCount: 0,
  };
  private readonly nodeOptions: OmniPaxosOptions<Entry, DigestState>;

  constructor(
    readonly core: CoreModule,
    readonly seed: number,
    nodeCount: number | undefined,
    readonly trace: ((line: string) => void) | undefined,
  ) {
    this.prng = new Prng(seed);
    this.params = drawParams(this.prng, nodeCount);
    this.faultPrng = this.prng.fork();
    this.network = new Network<SimMessage>(this.prng.fork(), deepFreeze);
    this.nodeOptions = {
      snapshot: { create: (entries, firstIdx) => this.createSnapshot(entries, firstIdx), merge: digestMerge },
      ...(this.params.useEntryId ? { entryId: (e: Entry) => e } : {}),
    };
    const initial: ClusterConfig = { configurationId: 1, nodes: [...this.params.pids] };
    this.configurations.set(1, initial);
    for (const pid of this.params.pids) this.addNode(pid, initial);
  }

  say(line: string): void {
    if (this.trace !== undefined) this.trace(`[t${this.tick}] ${line}`);
  }

  latestConfiguration(): ClusterConfig {
    return this.configurations.get(this.latestConfigurationId)!;
  }

  upNodes(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.instance !== undefined) out.push(n);
    return out;
  }

  // ---- the step ----

  /** One tick of simulated time. `inputs` runs first (faults and appends of the nemesis). */
  step(inputs: () => void, crashMidTurnRate: number): void {
    this.tick++;
    inputs();
    for (const m of this.network.takeDue(this.tick)) {
      const node = this.nodes.get(m.to);
      if (node?.instance === undefined) continue;
      if (this.traceMessages) this.say(`  ${m.from}->${m.to} ${describeMessage(m)}`);
      node.instance.handleIncoming(m);
    }
    for (const node of this.nodes.values()) {
      if (node.instance === undefined) continue;
      if (this.faultPrng.chance(this.params.rates.tickSkip)) continue;
      node.instance.tick();
    }
    for (const node of this.nodes.values()) {
      if (node.instance === undefined) continue;
      if (this.faultPrng.chance(crashMidTurnRate)) {
        this.crash(node, "mid-turn, before its writes were durable");
        continue;
      }
      for (const m of node.endTurn()) {
        if (m.from !== node.pid || typeof m.to !== "number") {
          throw new SafetyViolation("message-addressing", `node ${node.pid} sent ${m.kind} with from=${m.from} to=${m.to}`);
        }
        this.network.send(m, this.tick);
      }
    }
    if (this.trace !== undefined) this.traceNodeStates();
  }

  /** Logs each node's leader, role, ballot and indexes whenever they change. */
  private traceNodeStates(): void {
    for (const node of this.nodes.values()) {
      const op = node.instance;
      if (op === undefined) continue;
      const st = op.getStatus();
      const line = `node ${node.pid}: config ${st.configurationId} leader ${st.leader ?? "-"} ${st.role}/${st.phase} promise (${st.promise.configurationId},${st.promise.n},${st.promise.priority},${st.promise.pid}) qc ${st.quorumConnected} accepted ${st.acceptedIdx} decided ${st.decidedIdx} compacted ${st.compactedIdx}`;
      if (this.traced.get(node.pid) !== line) {
        this.traced.set(node.pid, line);
        this.say(line);
      }
    }
  }

  // ---- node operations (used by the nemesis and the liveness phase) ----

  addNode(pid: number, cluster: ClusterConfig): SimNode {
    const server = {
      pid,
      electionTickTimeout: this.params.electionTicks,
      resendMessageTickTimeout: this.params.resendTicks,
      batchSize: this.params.batchSize,
      leaderPriority: this.params.priorities.get(pid) ?? 0,
    };
    const node = new SimNode(pid, this.core, cluster, server, this.nodeOptions);
    this.nodes.set(pid, node);
    node.start();
    this.say(`node ${pid} starts in configuration ${cluster.configurationId} [${cluster.nodes.join(",")}]`);
    return node;
  }

  crash(node: SimNode, how: string): void {
    const lost = node.storage.hasUnflushedWrites;
    node.crash(this.tick + this.faultPrng.range(5, 200));
    this.fates.nodeLost(node.pid);
    this.reads.nodeLost(node.pid);
    this.network.dropFor(node.pid);
    this.stats.crashCount++;
    this.say(`node ${node.pid} crashes ${how}${lost ? " (unflushed writes lost)" : ""}, restarts at t${node.restartAtTick}`);
  }

  restart(node: SimNode): void {
    node.start();
    this.stats.restartCount++;
    this.say(`node ${node.pid} restarts from its durable storage (decidedIdx ${node.instance!.getDecidedIdx()})`);
  }

  /** Appends one fresh unique value at `node`; undefined if the core refused it (a typed ProposalError). */
  append(node: SimNode): Entry | undefined {
    const op = node.instance!;
    const value = this.nextValue++;
    const configurationId = op.getConfiguration().configurationId;
    try {
      op.append(value);
    } catch (e) {
      if (e instanceof this.core.ProposalError) {
        this.lastRefusal = `${e.code}: ${e.message}`;
        return undefined; // refused values must never be decided
      }
      throw e;
    }
    this.log.recordAppend(value);
    this.appendedIn.set(value, configurationId);
    this.fates.appended(value, node.pid);
    this.stats.appendedCount++;
    return value;
  }

  /** Starts a linearizable read (read-index) at `node`. */
  readIndex(node: SimNode): void {
    const token = this.reads.begin(node.pid, this.log.length);
    try {
      node.instance!.readIndex(token);
    } catch (e) {
      this.reads.cancel(token);
      if (e instanceof this.core.ProposalError) return;
      throw e;
    }
  }

  newPid(): number {
    return this.nextNewPid++;
  }

  /** Called by the invariant checker when a slot becomes known as decided for the first time. */
  onFirstDecided(idx: number, slot: Slot, stopSignConfig: ClusterConfig | undefined): void {
    this.stats.decidedSlotCount++;
    if (slot.kind === "entry") this.fates.decided(slot.value);
    if (this.traceMessages) this.say(`  slot ${idx} first decided: ${slot.kind === "entry" ? `value ${slot.value}` : "stopsign"}`);
    if (slot.kind !== "stopsign" || stopSignConfig === undefined) return;
    const next = stopSignConfig;
    this.configurations.set(next.configurationId, next);
    this.stopSignIdx.set(next.configurationId - 1, idx);
    this.latestConfigurationId = Math.max(this.latestConfigurationId, next.configurationId);
    this.stats.maxConfigurationId = this.latestConfigurationId;
    this.stats.reconfigurationCount++;
    this.say(`StopSign decided at slot ${idx}: configuration ${next.configurationId} = [${next.nodes.join(",")}]`);
    for (const pid of next.nodes) if (!this.nodes.has(pid)) this.addNode(pid, next);
  }

  // ---- the application's snapshot spec (checked against the global decided log) ----

  private createSnapshot(entries: readonly StoredEntry<Entry>[], firstIdx: number): DigestState {
    const values: number[] = [];
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k];
      const known = this.log.slotAt(firstIdx + k);
      const same = known === undefined ? true : e.kind === "entry" ? known.kind === "entry" && known.value === e.entry : known.kind === "stopsign";
      if (!same && this.deferredViolation === undefined) {
        this.deferredViolation = new SafetyViolation("snapshot-input", `SnapshotSpec.create got slot ${firstIdx + k} = ${JSON.stringify(e)}, but the decided log has ${JSON.stringify(known)} there`);
      }
      if (e.kind === "entry") values.push(e.entry);
    }
    return digestOf(values);
  }
}

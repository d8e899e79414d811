// A deterministic in-memory cluster for scenario tests: nodes, directed links that can be cut,
// crash (back to the last durable storage) and restart, zero-latency delivery between ticks.
import { MemoryStorage, OmniPaxos, type ClusterConfig, type Message, type OmniPaxosConfig, type SnapshotSpec } from "../../src/index.ts";

/** Test entries are strings; the snapshot is the list of entries it covers (so a snapshot plus
 *  the decided suffix can be compared with the full decided log). */
export type Snap = string[];
export const snapshotSpec: SnapshotSpec<string, Snap> = {
  create: (entries) => entries.flatMap((e) => (e.kind === "entry" ? [e.entry] : [])),
  merge: (base, delta) => base.concat(delta),
};

export interface NodeOptions {
  priority?: number;
  electionTickTimeout?: number;
  resendMessageTickTimeout?: number;
  batchSize?: number;
  entryIds?: boolean;
}

export interface TestNode {
  pid: number;
  op: OmniPaxos<string, Snap>;
  storage: MemoryStorage<string, Snap>;
  /** What survives a crash: a copy taken after each takeOutgoingMessages(). */
  durable: MemoryStorage<string, Snap>;
  up: boolean;
  config: OmniPaxosConfig;
  opts: NodeOptions;
  dropped: string[];
}

export class TestCluster {
  readonly nodes = new Map<number, TestNode>();
  /** Cut directed links "a>b". */
  private cuts = new Set<string>();
  delivered = 0;

  addNode(pid: number, cluster: ClusterConfig, opts: NodeOptions = {}): TestNode {
    const config: OmniPaxosConfig = {
      cluster,
      server: {
        pid,
        electionTickTimeout: opts.electionTickTimeout ?? 5,
        resendMessageTickTimeout: opts.resendMessageTickTimeout ?? 10,
        batchSize: opts.batchSize ?? 100,
        leaderPriority: opts.priority ?? 0,
      },
    };
    const storage = new MemoryStorage<string, Snap>();
    const node: TestNode = { pid, op: this.construct(config, storage, opts), storage, durable: storage.clone(), up: true, config, opts, dropped: [] };
    this.nodes.set(pid, node);
    return node;
  }

  private construct(config: OmniPaxosConfig, storage: MemoryStorage<string, Snap>, opts: NodeOptions): OmniPaxos<string, Snap> {
    return new OmniPaxos<string, Snap>(config, storage, { snapshot: snapshotSpec, ...(opts.entryIds !== false ? { entryId: (e: string) => e } : {}) });
  }

  node(pid: number): TestNode {
    const n = this.nodes.get(pid);
    if (n === undefined) throw new Error(`no node ${pid}`);
    return n;
  }

  upNodes(): TestNode[] {
    return [...this.nodes.values()].filter((n) => n.up).sort((a, b) => a.pid - b.pid);
  }

  cut(a: number, b: number): void {
    this.cuts.add(`${a}>${b}`);
    this.cuts.add(`${b}>${a}`);
  }

  cutOneWay(from: number, to: number): void {
    this.cuts.add(`${from}>${to}`);
  }

  heal(a: number, b: number): void {
    this.cuts.delete(`${a}>${b}`);
    this.cuts.delete(`${b}>${a}`);
  }

  healAll(): void {
    this.cuts.clear();
  }

  linked(a: number, b: number): boolean {
    return !this.cuts.has(`${a}>${b}`);
  }

  crash(pid: number): void {
    const n = this.node(pid);
    n.up = false;
    n.storage = n.durable.clone();
  }

  restart(pid: number): void {
    const n = this.node(pid);
    n.op = this.construct(n.config, n.storage, n.opts);
    n.up = true;
  }

  /** Takes every up node's outgoing messages and delivers them until the network is quiet. */
  settle(): void {
    for (let round = 0; round < 10_000; round++) {
      const inFlight: Message<string, Snap>[] = [];
      for (const n of this.upNodes()) {
        const msgs = n.op.takeOutgoingMessages();
        n.durable = n.storage.clone();
        for (const d of n.op.takeDroppedProposals()) n.dropped.push(d.entry);
        for (const m of msgs) inFlight.push(structuredClone(m));
      }
      if (inFlight.length === 0) return;
      for (const m of inFlight) {
        const to = this.nodes.get(m.to);
        if (to === undefined || !to.up || !this.linked(m.from, m.to)) continue;
        this.delivered++;
        to.op.handleIncoming(m);
      }
      this.checkSafety();
    }
    throw new Error("network did not quiesce in 10000 rounds");
  }

  tick(count: number): void {
    for (let i = 0; i < count; i++) {
      for (const n of this.upNodes()) n.op.tick();
      this.settle();
    }
  }

  /** Ticks until `cond` holds (at most `max` ticks); returns the ticks used, or -1. */
  tickUntil(cond: () => boolean, max: number): number {
    for (let i = 0; i <= max; i++) {
      if (cond()) return i;
      this.tick(1);
    }
    return -1;
  }

  /** The decided state of a node: snapshot entries followed by decided entries (StopSigns skipped). */
  decidedState(pid: number): string[] {
    const op = this.node(pid).op;
    const out: string[] = [];
    for (const e of op.readDecidedSuffix(0) ?? []) {
      if (e.kind === "snapshotted") out.push(...e.snapshot);
      else if (e.kind === "trimmed") throw new Error(`node ${pid} trimmed without a snapshot`);
      else if (e.kind === "entry") out.push(e.entry);
    }
    return out;
  }

  /** Safety after every delivery round: decided states are prefixes of each other, no duplicates. */
  checkSafety(): void {
    let longest: string[] = [];
    for (const n of this.nodes.values()) {
      const s = this.decidedState(n.pid);
      const shorter = s.length < longest.length ? s : longest;
      const longer = s.length < longest.length ? longest : s;
      for (let i = 0; i < shorter.length; i++) {
        if (shorter[i] !== longer[i]) throw new Error(`decided logs diverge at entry ${i}: ${shorter[i]} vs ${longer[i]} (node ${n.pid})`);
      }
      if (new Set(s).size !== s.length) throw new Error(`node ${n.pid} decided a duplicate entry: ${s.join(",")}`);
      longest = longer;
    }
  }
}

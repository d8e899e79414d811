// The nemesis: every few seconds it injects one fault into the process cluster, holds it, then
// heals it and waits for the cluster to recover. Kinds: kill (SIGKILL one node, the leader, or
// all nodes, then restart), pause (SIGSTOP/SIGCONT), partition (isolate, split, bridge, one-way
// cut, latency) and member (remove a member under load, then let it join again).
import { setTimeout as sleep } from "node:timers/promises";
import type { ProcessCluster } from "../cluster/process-cluster.ts";
import type { CutMode } from "../cluster/link-network.ts";
import type { Prng } from "../util/prng.ts";

/** compound: two of the others at once (e.g. a partition while the leader is killed, or a member change). */
export const NEMESIS_KINDS = ["kill", "pause", "partition", "member", "compound"] as const;
export type NemesisKind = (typeof NEMESIS_KINDS)[number];

export interface FaultRecord {
  kind: NemesisKind;
  detail: string;
  startMs: number;
  healedMs?: number;
  /** How long the cluster took to be healthy again after the heal; undefined if it never was. */
  recoveryMs?: number;
}

export interface NemesisOptions {
  kinds: readonly NemesisKind[];
  /** Quiet time between faults. */
  intervalMs: number;
  /** How long a fault is held. */
  holdMs: number;
  /** How long the cluster may take to be healthy after a heal before it counts as a liveness failure. */
  recoveryTimeoutMs: number;
  /** Chance that a kill takes down every node at once (what catches an ack before fsync). */
  killAllRate: number;
}

export class Nemesis {
  readonly faults: FaultRecord[] = [];
  private readonly startedAt = Date.now();

  constructor(
    private readonly cluster: ProcessCluster,
    private readonly rng: Prng,
    private readonly options: NemesisOptions,
    private readonly log: (line: string) => void = () => {},
  ) {}

  async run(stopped: () => boolean): Promise<void> {
    while (!stopped()) {
      await sleep(this.jitter(this.options.intervalMs));
      if (stopped()) break;
      await this.inject(this.rng.pick(this.options.kinds));
    }
  }

  private jitter(ms: number): number {
    return Math.round(ms * (0.5 + this.rng.float()));
  }

  private async inject(kind: NemesisKind): Promise<void> {
    const record: FaultRecord = { kind, detail: "", startMs: Date.now() - this.startedAt };
    this.faults.push(record);
    const hold = () => sleep(this.jitter(this.options.holdMs));
    switch (kind) {
      case "kill":
        await this.kill(record, hold);
        break;
      case "pause":
        await this.pause(record, hold);
        break;
      case "partition":
        await this.partition(record, hold);
        break;
      case "member":
        await this.member(record);
        break;
      case "compound":
        await this.compound(record, hold);
        break;
    }
    record.healedMs = Date.now() - this.startedAt;
    this.log(`nemesis: healed ${kind} (${record.detail})`);
    const healedAt = Date.now();
    try {
      await this.cluster.waitHealthy(this.options.recoveryTimeoutMs);
      record.recoveryMs = Date.now() - healedAt;
    } catch {
      this.log(`nemesis: cluster not healthy ${this.options.recoveryTimeoutMs} ms after healing ${kind}`);
    }
  }

  /** The leader half the time (if one answers), else a random node. */
  private async target(): Promise<string> {
    const leader = this.rng.chance(0.5) ? await this.cluster.leader() : undefined;
    return leader ?? this.rng.pick(this.cluster.nodes).name;
  }

  private async kill(record: FaultRecord, hold: () => Promise<unknown>): Promise<void> {
    const all = this.rng.chance(this.options.killAllRate);
    const victims = all ? this.cluster.nodes.map((n) => n.name) : [await this.target()];
    record.detail = `SIGKILL ${victims.join(",")}`;
    this.log(`nemesis: ${record.detail}`);
    await Promise.all(victims.map((v) => this.cluster.kill(v)));
    await hold();
    await Promise.all(victims.map((v) => this.cluster.restart(v)));
  }

  private async pause(record: FaultRecord, hold: () => Promise<unknown>): Promise<void> {
    const victim = await this.target();
    record.detail = `SIGSTOP ${victim}`;
    this.log(`nemesis: ${record.detail}`);
    this.cluster.pause(victim);
    await hold();
    this.cluster.resume(victim);
  }

  private async partition(record: FaultRecord, hold: () => Promise<unknown>): Promise<void> {
    const net = this.cluster.network;
    const names = this.cluster.nodes.map((n) => n.name);
    const mode: CutMode = this.rng.chance(0.7) ? "blackhole" : "reset";
    const victim = await this.target();
    const others = names.filter((n) => n !== victim);
    const shape = this.rng.pick(["isolate", "split", "bridge", "one-way", "latency"] as const);
    if (shape === "isolate") {
      net.isolate(victim, mode);
      record.detail = `isolate ${victim} (${mode})`;
    } else if (shape === "split") {
      const shuffled = this.rng.shuffle(names);
      const left = shuffled.slice(0, Math.floor(names.length / 2));
      net.split(left, shuffled.slice(left.length), mode);
      record.detail = `split ${left.join(",")} | ${shuffled.slice(left.length).join(",")} (${mode})`;
    } else if (shape === "bridge") {
      const left = others.slice(0, Math.ceil(others.length / 2));
      const right = others.slice(left.length);
      net.bridge([...left, victim], victim, [victim, ...right], mode);
      record.detail = `bridge ${left.join(",")} - ${victim} - ${right.join(",")} (${mode})`;
    } else if (shape === "one-way") {
      for (const other of others) net.cut(victim, other, { oneWay: true, mode });
      record.detail = `cut ${victim} -> others, one way (${mode})`;
    } else {
      const ms = this.rng.between(20, 150);
      net.slow(ms);
      record.detail = `latency ${ms} ms on every link`;
    }
    this.log(`nemesis: ${record.detail}`);
    await hold();
    net.heal();
  }

  private async member(record: FaultRecord): Promise<void> {
    const victim = await this.target();
    const how = this.rng.chance(0.5) ? "join" : "add-member";
    record.detail = `remove ${victim}, wipe it, add it again (${how})`;
    this.log(`nemesis: ${record.detail}`);
    await this.cluster.removeAndReadd(victim, how, this.options.recoveryTimeoutMs);
  }

  private async compound(record: FaultRecord, hold: () => Promise<unknown>): Promise<void> {
    const [a, b] = this.rng.shuffle(["kill", "pause", "partition", "member"] as const);
    const parts: FaultRecord[] = [a, b].map((kind) => ({ kind, detail: "", startMs: record.startMs }));
    const run = (kind: NemesisKind, part: FaultRecord) =>
      kind === "kill" ? this.kill(part, hold) : kind === "pause" ? this.pause(part, hold) : kind === "partition" ? this.partition(part, hold) : this.member(part);
    // A member change under another fault may not finish; the other fault is healed regardless.
    await Promise.allSettled([run(a, parts[0]), run(b, parts[1])]);
    record.detail = parts.map((p) => `${p.kind}: ${p.detail}`).join(" + ");
    await this.healAll();
    const repaired = await this.cluster.repairMembership(this.options.recoveryTimeoutMs).catch(() => []);
    if (repaired.length > 0) record.detail += `; re-added ${repaired.join(",")}`;
  }

  /** Undoes whatever may still be in effect (used when a run stops or fails). */
  async healAll(): Promise<void> {
    this.cluster.network.heal();
    for (const node of this.cluster.nodes) {
      if (node.state === "paused") node.resume();
      if (node.state === "stopped") await node.start();
    }
  }

  /** Fault counts per kind, e.g. { kill: 3, partition: 2 }. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const f of this.faults) counts[f.kind] = (counts[f.kind] ?? 0) + 1;
    return counts;
  }
}

// The simulated network: per-link cuts, loss, duplication, delay and reordering, all drawn from the run's Prng.
// A message is checked against the links both when it is sent and when it would be delivered.

import type { Prng } from "./prng.ts";

export interface Addressed {
  from: number;
  to: number;
}

export interface NetworkProfile {
  lossRate: number; // probability that a sent message is dropped
  duplicateRate: number; // probability that a sent message is delivered twice
  delayTicksMin: number; // inclusive
  delayTicksMax: number; // inclusive
}

export const RELIABLE_PROFILE: NetworkProfile = { lossRate: 0, duplicateRate: 0, delayTicksMin: 1, delayTicksMax: 1 };

/** Bound on messages in flight; past it new sends are dropped (and counted), as a congested link would. */
export const IN_FLIGHT_MESSAGES_MAX = 50_000;

export interface NetworkStats {
  sentCount: number;
  deliveredCount: number;
  droppedCount: number;
  duplicatedCount: number;
  overflowCount: number;
}

export class Network<M extends Addressed> {
  profile: NetworkProfile = RELIABLE_PROFILE;
  readonly stats: NetworkStats = { sentCount: 0, deliveredCount: 0, droppedCount: 0, duplicatedCount: 0, overflowCount: 0 };
  private readonly cut = new Set<number>(); // directed links a->b encoded as a*LINK_BASE+b
  private readonly buckets = new Map<number, M[]>(); // delivery tick -> messages
  private inFlightCount = 0;

  constructor(
    private readonly prng: Prng,
    private readonly clone: (msg: M) => M,
  ) {}

  // ---- topology ----
  isConnected(from: number, to: number): boolean {
    return from === to || !this.cut.has(linkKey(from, to));
  }
  cutLink(a: number, b: number): void {
    this.cut.add(linkKey(a, b));
    this.cut.add(linkKey(b, a));
  }
  healLink(a: number, b: number): void {
    this.cut.delete(linkKey(a, b));
    this.cut.delete(linkKey(b, a));
  }
  healAll(): void {
    this.cut.clear();
  }
  /** Cuts every link between the two sides (nodes on no side keep all links). */
  partition(sideA: readonly number[], sideB: readonly number[]): void {
    for (const a of sideA) for (const b of sideB) this.cutLink(a, b);
  }
  /** Cuts every link except those listed (as undirected pairs) among `nodes`. */
  keepOnly(nodes: readonly number[], links: ReadonlyArray<readonly [number, number]>): void {
    this.healAll();
    for (const a of nodes) for (const b of nodes) if (a < b) this.cutLink(a, b);
    for (const [a, b] of links) this.healLink(a, b);
  }
  cutLinks(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const k of this.cut) {
      const a = Math.floor(k / LINK_BASE);
      const b = k % LINK_BASE;
      if (a < b) out.push([a, b]);
    }
    return out.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  }

  // ---- traffic ----
  send(msg: M, nowTick: number): void {
    this.stats.sentCount++;
    if (!this.isConnected(msg.from, msg.to) || this.prng.chance(this.profile.lossRate)) {
      this.stats.droppedCount++;
      return;
    }
    this.schedule(this.clone(msg), nowTick);
    if (this.prng.chance(this.profile.duplicateRate)) {
      this.stats.duplicatedCount++;
      this.schedule(this.clone(msg), nowTick);
    }
  }

  /** Messages due at `nowTick` whose link is still up, in a random order. */
  takeDue(nowTick: number): M[] {
    const due = this.buckets.get(nowTick);
    if (due === undefined) return [];
    this.buckets.delete(nowTick);
    this.inFlightCount -= due.length;
    const out: M[] = [];
    for (const m of due) {
      if (this.isConnected(m.from, m.to)) out.push(m);
      else this.stats.droppedCount++;
    }
    this.stats.deliveredCount += out.length;
    return this.prng.shuffle(out);
  }

  /** Drops everything in flight to or from `pid` (a crashed node's sockets die with it). */
  dropFor(pid: number): void {
    for (const [tick, msgs] of this.buckets) {
      const kept = msgs.filter((m) => m.to !== pid && m.from !== pid);
      this.inFlightCount -= msgs.length - kept.length;
      this.stats.droppedCount += msgs.length - kept.length;
      this.buckets.set(tick, kept);
    }
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  private schedule(msg: M, nowTick: number): void {
    if (this.inFlightCount >= IN_FLIGHT_MESSAGES_MAX) {
      this.stats.overflowCount++;
      this.stats.droppedCount++;
      return;
    }
    const { delayTicksMin, delayTicksMax } = this.profile;
    const at = nowTick + Math.max(1, this.prng.range(delayTicksMin, delayTicksMax)); // never the tick being delivered
    let bucket = this.buckets.get(at);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(at, bucket);
    }
    bucket.push(msg);
    this.inFlightCount++;
  }
}

const LINK_BASE = 1 << 16;
function linkKey(a: number, b: number): number {
  return a * LINK_BASE + b;
}

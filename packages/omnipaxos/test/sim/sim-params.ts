// The per-seed shape of a run (cluster size, timeouts, batch size, priorities, fault rates), drawn from the
// seed, and the stated liveness bound. Everything a run does follows from its seed and these numbers.

import type { Prng } from "./prng.ts";

export interface SimParams {
  nodeCount: number;
  pids: number[];
  electionTicks: number;
  resendTicks: number;
  batchSize: number;
  priorities: Map<number, number>;
  /** Give the core an entryId (exactly-once re-proposal after leader changes). */
  useEntryId: boolean;
  /** Per-step probabilities of the nemesis. */
  rates: FaultRates;
}

export interface FaultRates {
  appendBurst: number;
  networkProfile: number;
  partition: number;
  heal: number;
  crash: number;
  crashMidTurn: number;
  reconfigure: number;
  snapshot: number;
  trim: number;
  tickSkip: number; // a node misses a tick (clock skew)
  read: number; // a read-index request at a random node
}

/** Ticks a removed member keeps running (answering stragglers) before it is shut down. */
export const REMOVED_MEMBER_LINGER_TICKS = 300;
/** Ticks after which an undecided reconfiguration may be proposed again. */
export const RECONFIGURE_RETRY_TICKS = 300;

/**
 * Liveness bound, in ticks after the network heals (or settles into a partial-connectivity topology):
 * a leader within ELECTION_TIMEOUTS_MAX election timeouts (the paper's bound is 4), then a fresh
 * append decided within DECIDE_TICKS_MAX more ticks (a Prepare round, one resend, an Accept round).
 */
export const ELECTION_TIMEOUTS_MAX = 4;
export function decideTicksMax(p: SimParams): number {
  return p.resendTicks + 8;
}
export function livenessTicksMax(p: SimParams): number {
  return ELECTION_TIMEOUTS_MAX * p.electionTicks + decideTicksMax(p);
}

export function drawParams(prng: Prng, nodeCount: number | undefined): SimParams {
  const n = nodeCount ?? prng.range(3, 7);
  const pids: number[] = [];
  while (pids.length < n) {
    const id = prng.range(1, 99); // any positive ids, not 1..n
    if (!pids.includes(id)) pids.push(id);
  }
  const withPriorities = prng.chance(0.3);
  const priorities = new Map<number, number>();
  for (const p of pids) priorities.set(p, withPriorities ? prng.range(0, 3) : 0);
  return {
    nodeCount: n,
    pids,
    electionTicks: prng.pick([3, 4, 5, 6, 8]),
    resendTicks: prng.pick([4, 6, 10]),
    batchSize: prng.pick([1, 3, 16, 1000]),
    priorities,
    useEntryId: prng.chance(0.5),
    rates: {
      appendBurst: prng.pick([0.1, 0.3, 0.6]),
      networkProfile: 1 / 200,
      partition: prng.pick([1 / 300, 1 / 120, 1 / 60]),
      heal: 1 / 100,
      crash: prng.pick([0, 1 / 400, 1 / 150]),
      crashMidTurn: prng.pick([0, 1 / 500, 1 / 200]),
      reconfigure: prng.pick([0, 1 / 600, 1 / 250]),
      snapshot: prng.pick([0, 1 / 200, 1 / 60]),
      trim: prng.pick([0, 1 / 300, 1 / 100]),
      tickSkip: prng.pick([0, 0.05]),
      read: 0.2,
    },
  };
}

// Seeds that once exposed a bug in the core (found by this simulator); sim.test.ts replays every one.
import type { PartialConnectivityCase } from "./topology.ts";

export interface RegressionSeed {
  seed: number;
  steps: number;
  nodes?: number;
  scenario?: PartialConnectivityCase;
  /** The bug it found, and where it was fixed. */
  bug: string;
}

export const REGRESSION_SEEDS: RegressionSeed[] = [];

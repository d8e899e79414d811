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

export const REGRESSION_SEEDS: RegressionSeed[] = [
  {
    seed: 18, steps: 500,
    bug: "integrity: a follower that became leader re-queued proposals another leader had already placed (ProposalAck), deciding them twice (proposals.ts onPromiseChanged: requeue only our own unflushed batch)",
  },
  {
    seed: 1, steps: 500,
    bug: "agreement: a late Promise from the old leader, in the adopted round but longer than the adopted log, was AcceptSynced from its acceptedIdx, keeping its divergent suffix (leader.ts sendAcceptSync: sync from min(acceptedIdx, adopted log length))",
  },
];

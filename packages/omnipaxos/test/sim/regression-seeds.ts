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
  {
    seed: 10, steps: 500,
    bug: "liveness: election livelock after healing; followers took the leader's heartbeat reply (sent before it was elected, so with a lower ballot) for a lost leader and re-elected every round (ballot-leader-election.ts endRound: a leader that answered the round as a candidate is alive)",
  },
  {
    seed: 13, steps: 500,
    bug: "core assertion: a node left in an ended configuration got a CatchUp running past its StopSign and asserted 'StopSign but the log continues' (catch-up.ts: decided slots may run past the StopSign)",
  },
  {
    seed: 58, steps: 500,
    bug: "lost proposals: a restarted follower's new forwarding session (seq 0, same leader ballot) was taken for duplicates of its previous life's session (fixed by the core helper in 7f36949: forwarder incarnation)",
  },
  {
    seed: 25, steps: 2000,
    bug: "integrity: exactly-once re-proposal settled against an adopted log that was not chosen yet; an older round's log later decided the value at its first slot too (fixed by the core helper in c528cbb: settle only decided slots)",
  },
  {
    seed: 75, steps: 2000,
    bug: "liveness (harness): a probe refused with 'reconfigured' in configuration 3 blocked probing the same ballot numbers in configuration 4",
  },
  {
    seed: 33, steps: 300, scenario: "quorum-loss",
    bug: "lost proposals: settle() re-queued proposals at a leader already in the Accept phase, whose queue was only drained when Prepare ended (leader.ts flushBatch: place the queue)",
  },
  {
    seed: 951, steps: 2000,
    bug: "lost proposals: appends a deposed leader placed beyond its successor's adopted log waited for their slot to be decided, which never happened on the idle healed cluster (proposals.ts reforwardUncertain: re-forward them; the new leader places each at most once by entryId once established)",
  },
];

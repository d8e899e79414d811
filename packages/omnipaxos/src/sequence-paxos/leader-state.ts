// What a leader tracks for its ballot: promises collected in the Prepare phase, each follower's
// replication progress in the Accept phase, the batch being built, and forwarding sessions.
// Everything is keyed by node id (any ids, not only 1..n).
import { BALLOT_ZERO, type Ballot } from "../ballot.ts";
import type { StoredEntry } from "../log-entry.ts";
import type { SyncPayload } from "../messages.ts";

export interface PromiseInfo<T, S> {
  acceptedRound: Ballot;
  acceptedIdx: number;
  decidedIdx: number;
  sync: SyncPayload<T, S> | undefined;
}

export interface FollowerProgress {
  /** The follower answered our AcceptSync (it is in our Accept phase). */
  acked: boolean;
  /** Invariant: acceptedIdx <= nextIdx <= leader's acceptedIdx. */
  acceptedIdx: number;
  /** Next slot to send; a batch goes out only when it starts exactly here (no gaps). */
  nextIdx: number;
  /** acceptedIdx at the previous resend check, to detect a stalled follower. */
  acceptedIdxAtLastResend: number;
  /** Highest decidedIdx sent to it. */
  decidedIdxSent: number;
}

/** Per-forwarder de-duplication of ProposalForward within this leadership. */
export interface ForwardSessionAtLeader {
  incarnation: number;
  nextSeq: number;
  /** Batches that arrived before a missing earlier one (bounded by limits.forwardEarlyBatchesMax). */
  early: Map<number, unknown>;
  /** Acks not yet known to have arrived (pruned by the forwarder's ackedSeq). */
  acks: { seq: number; count: number; idx: number; rejected: false | "reconfigured" | "unverifiable" }[];
}

export class LeaderState<T, S> {
  readonly promises = new Map<number, PromiseInfo<T, S>>();
  readonly progress = new Map<number, FollowerProgress>();
  readonly forwardSessions = new Map<number, ForwardSessionAtLeader>();
  /** Entries waiting for the next AcceptDecide; written to storage at flush. */
  batch: StoredEntry<T>[] = [];
  /** A StopSign is in `batch`: nothing may follow it. */
  stopSignInBatch = false;
  /** Decided index rose since the last flush. */
  decidePending = false;
  /** acceptedIdx when the Prepare phase ended. */
  inheritedIdx = 0;
  /** The accepted round of the log adopted in the Prepare phase. */
  maxPromiseRound: Ballot = BALLOT_ZERO;
  /** The length of that adopted log. */
  maxPromiseAcceptedIdx = 0;
  constructor(readonly n: Ballot) {}
}

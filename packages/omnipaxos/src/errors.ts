// Typed errors of the public API, and the record of a proposal that can no longer be decided.

export type ProposalErrorCode =
  /** A StopSign is pending or decided: this configuration takes no more proposals. */
  | "reconfigured"
  /** Too many proposals buffered (limits.pendingProposalsMax) — back off (RESOURCE_EXHAUSTED). */
  | "queue-full"
  /** This node is not a member of its configuration any more. */
  | "removed"
  /** reconfigure() was given an invalid next configuration. */
  | "invalid-config"
  /** Too many outstanding read-index requests (limits.pendingReadsMax). */
  | "reads-full";

export class ProposalError extends Error {
  override readonly name = "ProposalError";
  constructor(readonly code: ProposalErrorCode, message: string) {
    super(message);
  }
}

/** A proposal that was accepted by append() but can no longer be decided (or whose fate cannot be
 *  known any more). The application should fail the client and let it retry (idempotently). */
export interface DroppedProposal<T> {
  entry: T;
  reason:
    /** A StopSign took the slot / ended the configuration before it could be placed. */
    | "reconfigured"
    /** Placed by a leader that lost leadership; the slot was overwritten, or it was compacted
     *  before this node could check, and no entryId was given to re-propose safely. */
    | "leader-changed";
}

/** Outcome of a read-index request (see OmniPaxos.readIndex). */
export interface ReadyRead {
  token: number;
  /** Serve the read once the state machine has applied every slot < idx. */
  idx: number;
}

/** Trim/snapshot refused. */
export class CompactionError extends Error {
  override readonly name = "CompactionError";
  constructor(
    readonly code: "not-leader" | "not-decided" | "no-snapshot-spec" | "already-compacted",
    message: string,
  ) {
    super(message);
  }
}

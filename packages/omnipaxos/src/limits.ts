// Every bound of the core in one place (TIGER_STYLE): queues, batches and windows never grow
// silently; going past one is a typed error (ProposalError "queue-full") or an assertion.

export const limits = {
  /** Default and maximum entries per AcceptDecide batch (ServerConfig.batchSize). */
  batchEntriesDefault: 1000,
  batchEntriesMax: 100_000,
  /** Entries a leader keeps in flight per follower beyond its acknowledged index (pipelining window). */
  pipelineEntriesMax: 200_000,
  /** Proposals buffered at a node (forwarded and not yet acknowledged, or waiting for a leader). */
  pendingProposalsMax: 100_000,
  /** Proposals in one ProposalForward message. */
  forwardEntriesMax: 10_000,
  /** Forwarded batches a leader holds per forwarder while an earlier one is missing (reordering). */
  forwardEarlyBatchesMax: 64,
  /** Entries in one sync payload (AcceptSync/Promise/CatchUp); larger syncs continue in later rounds. */
  syncEntriesMax: 50_000,
  /** Outstanding read-index requests at one node. */
  pendingReadsMax: 100_000,
  /** Outgoing messages buffered between two takeOutgoingMessages() calls. */
  outgoingMessagesMax: 1_000_000,
  /** Default ticks per BLE heartbeat round. */
  electionTicksDefault: 5,
  /** Default ticks before resending PrepareReq / Prepare / AcceptDecide / forwarded proposals. */
  resendTicksDefault: 10,
  /** Largest configurable tick timeout. */
  tickTimeoutMax: 1_000_000,
  /** Largest node id and configuration id (kept within safe integers). */
  idMax: 2 ** 31 - 1,
  /** Largest cluster size. */
  nodesMax: 64,
} as const;

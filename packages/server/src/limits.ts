// Every bound of the server in one place (units last). Requests past a client-facing bound get
// INVALID_ARGUMENT or RESOURCE_EXHAUSTED and nothing is written; internal bounds are assertions or backpressure.

// The state machine's own bounds (de-dup window, watch history) live beside it; re-exported here so
// every bound of the node is found from this file.
export { DEFAULT_STATE_MACHINE_LIMITS, type StateMachineLimits } from "./state-machine/limits.ts";
import { DEFAULT_STATE_MACHINE_LIMITS } from "./state-machine/limits.ts";

export interface Limits {
  /** Longest key, in UTF-8 bytes (INVALID_ARGUMENT past it). */
  keyBytesMax: number;
  /** Largest value (RESOURCE_EXHAUSTED past it). */
  valueBytesMax: number;
  /** Longest request id (INVALID_ARGUMENT past it). */
  requestIdBytesMax: number;
  /** Default and largest page of List. */
  listPageDefault: number;
  listPageMax: number;
  /** Client requests waiting for a commit/apply/read barrier on this node (RESOURCE_EXHAUSTED past it). */
  pendingRequestsMax: number;
  /** Requests in flight on one Session stream (the stream stops reading past it: backpressure). */
  sessionInflightMax: number;
  /** Requests forwarded to the leader and not yet answered (RESOURCE_EXHAUSTED past it). */
  forwardInflightMax: number;
  /** Batches queued for one peer while its stream is down or slow (oldest dropped whole; the core resends). */
  peerQueueBatchesMax: number;
  /** Encoded core messages in one Exchange batch. */
  peerBatchMessagesMax: number;
  /** Watch events buffered for one slow watcher before it is cut off (RESOURCE_EXHAUSTED). */
  watchBufferEventsMax: number;
  /** Largest piece of an encoded peer batch in one ExchangeRequest (bigger batches are chunked). */
  stateChunkBytes: number;
  /** Largest reassembled peer batch accepted (past it the stream is cut). */
  peerBatchBytesMax: number;
  /** Ms a client request may wait for its answer before failing UNAVAILABLE (DEADLINE_EXCEEDED semantics). */
  requestTimeoutMs: number;
  /** Applied slots beyond the compacted index after which a node snapshots its log prefix locally. */
  compactionSlots: number;
  /** Ms a snapshot offer to a peer keeps holding log compaction at its revision once no fetch reads it
   *  (snapshot/snapshot-offers.ts): a member that is down does not pin the leader's log for longer. */
  snapshotOfferHoldMs: number;
  /** Bytes per second at most that this node sends of a snapshot to one peer (0: no limit). Keeps a state
   *  transfer from crowding out client traffic on a thin link (the cost: a longer join). */
  snapshotSendBytesPerSecond: number;
  /** Revisions of watch history this node keeps (StateMachineLimits.watchHistoryRevisions, passed on to the
   *  state machine); a Watch from an older revision fails OUT_OF_RANGE with a WatchCompacted detail. */
  watchHistoryRevisions: number;
  /** Open Watch streams on one node (RESOURCE_EXHAUSTED past it). */
  watchersMax: number;
  /** Largest request message, in bytes, on any RPC (RESOURCE_EXHAUSTED past it; Connect's readMaxBytes).
   *  Raised to fit valueBytesMax + keyBytesMax when those are configured larger. */
  requestBytesMax: number;
  /** HTTP/2 streams open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS: clients queue past it,
   *  and a stream over it is refused with REFUSED_STREAM). */
  connectionStreamsMax: number;
  /** Longest node name, and longest address, in Join, AddMember and RemoveMember (INVALID_ARGUMENT past it). */
  nameBytesMax: number;
  addressBytesMax: number;
}

export const defaultLimits: Limits = {
  keyBytesMax: 4 * 1024,
  valueBytesMax: 1024 * 1024,
  requestIdBytesMax: 128,
  listPageDefault: 1000,
  listPageMax: 10_000,
  pendingRequestsMax: 100_000,
  sessionInflightMax: 4096,
  forwardInflightMax: 100_000,
  peerQueueBatchesMax: 4096,
  peerBatchMessagesMax: 10_000,
  watchBufferEventsMax: 10_000,
  stateChunkBytes: 1024 * 1024,
  peerBatchBytesMax: 1024 * 1024 * 1024,
  requestTimeoutMs: 10_000,
  compactionSlots: 10_000,
  snapshotOfferHoldMs: 30_000,
  snapshotSendBytesPerSecond: 0,
  watchHistoryRevisions: DEFAULT_STATE_MACHINE_LIMITS.watchHistoryRevisions,
  watchersMax: 10_000,
  requestBytesMax: 4 * 1024 * 1024,
  connectionStreamsMax: 65_536,
  nameBytesMax: 256,
  addressBytesMax: 1024,
};

/** Limits where 0 is allowed and means no limit. */
const zeroMeansUnlimited: ReadonlySet<string> = new Set(["snapshotSendBytesPerSecond"]);

export function resolveLimits(overrides: Partial<Limits> | undefined): Limits {
  const limits = { ...defaultLimits, ...overrides };
  limits.requestBytesMax = Math.max(limits.requestBytesMax, limits.valueBytesMax + limits.keyBytesMax + 64 * 1024);
  for (const [name, value] of Object.entries(limits)) {
    const low = zeroMeansUnlimited.has(name) ? 0 : 1;
    if (!Number.isInteger(value) || value < low) throw new Error(`limit ${name} must be ${low === 0 ? "a non-negative" : "a positive"} integer, got ${value}`);
  }
  return limits;
}

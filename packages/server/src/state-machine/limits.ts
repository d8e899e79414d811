// Bounds of the key-value state machine. The server's src/limits.ts re-exports these so every
// bound of the node is found from one place. All windows are in revisions (log positions), which
// keeps them deterministic: every replica forgets exactly the same things at the same revision.

export interface StateMachineLimits {
  /**
   * A request id is remembered for this many revisions after it was applied; a retry arriving
   * later is applied again as a new request. 200,000 revisions is 20 s at 10,000 writes/s and far
   * longer at ordinary rates, which covers client retries across a leader change (~1-2 s). The
   * table therefore holds at most this many rows (one per write), about 100 bytes each.
   */
  dedupWindowRevisions: number;
  /** Watch history keeps events of the last this-many revisions... */
  watchHistoryRevisions: number;
  /** ...and at most this many bytes of keys and values; older events are forgotten first. */
  watchHistoryBytes: number;
}

export const DEFAULT_STATE_MACHINE_LIMITS: Readonly<StateMachineLimits> = Object.freeze({
  dedupWindowRevisions: 200_000,
  watchHistoryRevisions: 100_000,
  watchHistoryBytes: 64 * 1024 * 1024,
});

/** Dedup garbage collection runs when the revision is a multiple of this (visibility is exact anyway). */
export const DEDUP_GC_EVERY_REVISIONS = 1024;

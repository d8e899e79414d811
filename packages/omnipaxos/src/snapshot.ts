// The application-implemented snapshot interface. A snapshot S stands for the log slots
// [0, idx): the core never looks inside it, it only creates, merges and ships it.
import type { StoredEntry } from "./log-entry.ts";

export interface SnapshotSpec<T, S> {
  /**
   * Builds the snapshot of `entries`, where entries[k] is log slot firstIdx + k (StopSign slots
   * are included so that indexes line up; most applications skip them). Must be pure.
   */
  create(entries: readonly StoredEntry<T>[], firstIdx: number): S;
  /** The snapshot of `base` followed by `delta` (delta's slots come right after base's). Must be pure. */
  merge(base: S, delta: S): S;
  /**
   * Optional: the snapshot of the whole prefix [0, idx), made without the slots, or undefined when the
   * application cannot (then create/merge run as usual). For an application whose snapshot is a handle to
   * state it has already applied: compaction then costs O(1) instead of reading and folding every slot
   * compacted (a million slots took 2.3 s). Must return the same snapshot create+merge would stand for.
   */
  snapshotOfPrefix?(idx: number): S | undefined;
}

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
}

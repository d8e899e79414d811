// Where the state machine keeps its state: the SQLite store in the server (writes staged until
// commit, reads see staged writes) or MemoryKvBackend in tests and snapshot creation.

import type { MemberInfo } from "./command.ts";
import type { DedupRecord, KeyRecord, WatchEvent, WatchFilter } from "./kv-types.ts";

export interface MemberDirectory {
  clusterId: string;
  members: MemberInfo[];
}

/** The whole replicated state at one revision (what a full snapshot holds). */
export interface KvFullState {
  appliedRevision: number;
  /** Ascending by key. */
  keys: KeyRecord[];
  dedup: Array<[requestId: string, record: DedupRecord]>;
  directory: MemberDirectory | undefined;
}

export interface KvBackend {
  getKey(key: string): KeyRecord | undefined;
  putKey(record: KeyRecord): void;
  deleteKey(key: string): void;
  /** Keys starting with `prefix`, strictly after `afterKey` ("" = from the first), ascending, at most `limit`. */
  listKeys(prefix: string, afterKey: string, limit: number): KeyRecord[];

  getDedup(requestId: string): DedupRecord | undefined;
  putDedup(requestId: string, record: DedupRecord): void;
  /** Garbage-collects records with revision <= maxRevision (visibility is decided by the state machine). */
  pruneDedup(maxRevision: number): void;

  appendEvent(event: WatchEvent): void;
  /** Retained events with revision >= fromRevision matching `filter`, ascending, at most `limit`. */
  readEvents(filter: WatchFilter, fromRevision: number, limit: number): WatchEvent[];
  /** Every event with revision >= eventFloor() is retained (1 when nothing was ever forgotten). */
  eventFloor(): number;
  /** Forgets events with revision < minRevision, then the oldest until at most maxBytes remain. */
  pruneEvents(minRevision: number, maxBytes: number): void;

  getAppliedRevision(): number;
  setAppliedRevision(revision: number): void;

  getDirectory(): MemberDirectory | undefined;
  setDirectory(directory: MemberDirectory): void;

  /** Everything replicated (not the watch history), for a full snapshot. */
  exportState(): KvFullState;
  /** Replaces everything with `state`; the watch history is cleared and its floor moves past it. */
  importState(state: KvFullState): void;
}

/** Bytes an event occupies in the watch history (for the watchHistoryBytes bound). */
export function eventBytes(event: WatchEvent): number {
  return Buffer.byteLength(event.kv.key, "utf8") + event.kv.value.length + 32;
}

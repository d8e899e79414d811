// What the wider checks read besides the per-key history: List answers, serializable reads and
// watch streams, each with the revision the node reported. Kept apart from the Porcupine history
// (they are multi-key or per-node facts, not ops of one key's sequential model).

/** One key as a read or a watch event showed it. */
export interface KvSeen {
  key: string;
  value: string;
  version: number;
  modRevision: number;
}

/**
 * A read of one or more keys at one revision: a List (linearizable or serializable) or a
 * serializable Get. `keys` are the keys the read covers: the answer's entries plus, for a list
 * that was not cut by its limit, every key of the prefix that the answer says is absent.
 */
export interface SnapshotRead {
  id: number;
  kind: "list" | "get";
  consistency: "linearizable" | "serializable";
  /** The node that answered; with `incarnation` (bumped when the harness wipes it) one replica. */
  node: string;
  incarnation: number;
  /** A list's prefix, a get's key. */
  prefix: string;
  callUs: number;
  returnUs: number;
  revision: number;
  kvs: KvSeen[];
  /** false when the answer was cut by a page limit: absence beyond the last entry then says nothing. */
  complete: boolean;
}

export type WatchEventType = "put" | "delete";

export interface WatchSeen {
  type: WatchEventType;
  revision: number;
  kv: KvSeen;
  /** When the watcher received it (µs, the history's clock). */
  atUs: number;
}

/** How one watch stream ended. */
export type SegmentEnd = "broken" | "compacted" | "stopped";

/**
 * One Watch RPC of a watcher: asked from `startRevision`, delivered `events`, ended `end`. After a
 * compacted end the watcher listed at `relistRevision` and the next segment starts just past it.
 */
export interface WatchSegment {
  startRevision: number;
  events: WatchSeen[];
  end: SegmentEnd;
  relistRevision?: number;
}

/** One watcher's whole life on one node: its key range and the segments in order. */
export interface WatchStream {
  node: string;
  prefix: string;
  segments: WatchSegment[];
}

/** A violation found by one of the wider checks. */
export interface Finding {
  check: "list" | "serializable" | "watch" | "revisions";
  kind: string;
  detail: string;
}

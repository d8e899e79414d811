// What a log slot holds (StoredEntry, as written to Storage and sent in messages) and what the
// application reads back (LogEntry). One continuous log: slot i is slot i in every configuration.
import type { ClusterConfig } from "./config.ts";

/** Ends the current configuration at its log slot and carries the next one. */
export interface StopSign {
  nextConfig: ClusterConfig;
  /** Opaque application data (e.g. member addresses), replicated with the StopSign. */
  metadata?: Uint8Array;
}

/** A log slot as stored and replicated: an application entry or a StopSign. */
export type StoredEntry<T> = { kind: "entry"; entry: T } | { kind: "stopsign"; stopSign: StopSign };

/** A log slot as read by the application. */
export type LogEntry<T, S> =
  /** A decided (or, for read(), possibly undecided: see `decided`) application entry. */
  | { kind: "entry"; idx: number; entry: T; decided: boolean }
  /** Slots [0, trimmedIdx) are compacted into `snapshot` (the app's SnapshotSpec type). */
  | { kind: "snapshotted"; trimmedIdx: number; snapshot: S }
  /** Slots [0, trimmedIdx) were trimmed without a snapshot; their content is gone. */
  | { kind: "trimmed"; trimmedIdx: number }
  /** The StopSign slot. Nothing after it belongs to its configuration. */
  | { kind: "stopsign"; idx: number; stopSign: StopSign; decided: boolean };

/** The configuration a node is in, as persisted: the cluster and the StopSign metadata that created it. */
export interface ConfigurationRecord {
  cluster: ClusterConfig;
  metadata?: Uint8Array;
  /** Bumped by every OmniPaxos constructed on this storage: tells a leader that a forwarder
   *  restarted (its forwarding sequence numbers start again). Storage keeps it opaque. */
  incarnation?: number;
}

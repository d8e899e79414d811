// The store as the server uses it: SqliteStore over the replicated Command and the KV snapshot,
// plus the KvStateMachine on top of it. One call opens both.

import type { Command } from "../state-machine/command.ts";
import { KvStateMachine } from "../state-machine/kv-state-machine.ts";
import { type KvSnapshot, kvSnapshotCodec } from "../state-machine/kv-snapshot.ts";
import { DEFAULT_STATE_MACHINE_LIMITS, type StateMachineLimits } from "../state-machine/limits.ts";
import { storedEntryCodec } from "../state-machine/stored-entry-codec.ts";
import { SqliteStore } from "./sqlite-store.ts";

export type NodeStore = SqliteStore<Command, KvSnapshot>;

export interface OpenNodeStoreOptions {
  dataDir: string;
  name: string;
  clusterId?: string;
  stateMachineLimits?: StateMachineLimits;
  logCacheEntriesMax?: number;
  logCacheBytesMax?: number;
}

/**
 * Opens the data dir and builds the state machine on it. Throws DataDirMismatchError (another
 * node's or cluster's data dir), DataDirLockedError (in use) or SchemaTooNewError: each has a
 * one-line message fit for the operator.
 */
export function openNodeStore(options: OpenNodeStoreOptions): { store: NodeStore; stateMachine: KvStateMachine } {
  const store = SqliteStore.open<Command, KvSnapshot>({
    dataDir: options.dataDir,
    name: options.name,
    ...(options.clusterId !== undefined ? { clusterId: options.clusterId } : {}),
    ...(options.logCacheEntriesMax !== undefined ? { logCacheEntriesMax: options.logCacheEntriesMax } : {}),
    ...(options.logCacheBytesMax !== undefined ? { logCacheBytesMax: options.logCacheBytesMax } : {}),
    slotCodec: storedEntryCodec,
    snapshotCodec: kvSnapshotCodec,
  });
  const stateMachine = new KvStateMachine(store.kv, options.stateMachineLimits ?? DEFAULT_STATE_MACHINE_LIMITS);
  // A snapshot received from a peer reaches the core as "staged" (node/state-transfer.ts): when the core
  // installs it, its tables are swapped in, in the commit that records it, and it is recorded as what it
  // now is, a stored handle to this node's own tables at that revision.
  store.adoptSnapshot = (snapshot) => {
    if (snapshot.kind !== "staged") return snapshot;
    const from = stateMachine.appliedRevision;
    store.swapInTransfer(snapshot.transferId);
    stateMachine.noteSnapshotJump(from, snapshot.lastRevision);
    return { kind: "stored", lastRevision: snapshot.lastRevision };
  };
  return { store, stateMachine };
}

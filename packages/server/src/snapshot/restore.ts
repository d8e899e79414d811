// Disaster recovery: `metad --restore FILE` makes a new single-member cluster (a new cluster id, this
// node as node 1 in configuration 1) whose state is the snapshot's: every key with its version and
// revisions, and the log continuing after the snapshot's revision. The file is read twice: a first
// pass checks all of it (format version, frames, key count, checksum) before anything is written.

import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import type { Membership } from "../node/membership.ts";
import type { NodeRuntime } from "../node/node-runtime.ts";
import type { NodeStore } from "../storage/index.ts";
import type { KvSnapshot } from "../state-machine/kv-snapshot.ts";
import { readSnapshot, SnapshotFormatError, type SnapshotHeader, type SnapshotRecord } from "./snapshot-format.ts";

/** An import commits once this many keys, or this many bytes of them, are staged (bounds what is held in memory). */
const importBatchKeys = 5000;
const importBatchBytes = 64 * 1024 * 1024;
/** Set in the data dir while an import is under way, cleared in the commit that installs the new cluster. */
const RESTORING_META = "restoring-from";
const utf8 = new TextEncoder();

/**
 * Refuses (one line) a data dir that --restore must not touch, or that an interrupted restore left half
 * written: such a dir holds some keys and no cluster, and must be restored again, never provisioned or joined.
 */
export function checkRestoreTarget(store: NodeStore, dataDir: string, restore: string | undefined): void {
  const clusterId = store.identity.clusterId;
  if (restore !== undefined && (store.getConfiguration() !== undefined || clusterId !== undefined)) {
    throw new SnapshotFormatError(`cannot restore from ${restore}: data dir ${dataDir} already belongs to cluster ${clusterId ?? "(unknown)"}; --restore needs a new, empty data dir`);
  }
  const interrupted = store.getMeta(RESTORING_META);
  if (restore === undefined && interrupted !== undefined && clusterId === undefined) {
    throw new SnapshotFormatError(`data dir ${dataDir} holds an interrupted restore from ${new TextDecoder().decode(interrupted)}; run metad --restore again, or use a new data dir`);
  }
}

/** Reads the whole file and checks it; returns its header. Throws SnapshotFormatError with one line. */
export async function validateSnapshotFile(file: string): Promise<SnapshotHeader> {
  try {
    await access(file);
  } catch (e) {
    throw new SnapshotFormatError(`cannot read snapshot file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let header: SnapshotHeader | undefined;
  for await (const record of readSnapshot(createReadStream(file, { highWaterMark: 1024 * 1024 }))) {
    if (record.kind === "header") header = record.header;
  }
  return header!;
}

/** The first commit of an import: no keys (what an interrupted attempt left goes), and the data dir marked as restoring. */
export function beginImport(store: NodeStore, file: string): void {
  store.kv.importState({ appliedRevision: 0, keys: [], dedup: [], directory: undefined });
  store.setMeta(RESTORING_META, utf8.encode(file));
  store.commit();
}

/**
 * Imports a validated snapshot file into the node's (empty) data dir and starts it as the only member
 * of a new cluster. Call after the listener is bound (the member record carries the address).
 */
export async function restoreFromSnapshot(rt: NodeRuntime, file: string): Promise<{ clusterId: string; revision: number; keyCount: number }> {
  const store = rt.store;
  checkRestoreTarget(store, rt.options.dataDir, file);
  beginImport(store, file);
  const kv = store.kv;
  let header: SnapshotHeader | undefined;
  let stagedKeys = 0;
  let stagedBytes = 0;
  for await (const record of rereadSnapshot(file)) {
    if (record.kind === "header") {
      header = record.header;
      continue;
    }
    if (record.kind !== "key") continue; // de-dup and directory records belong to the old cluster
    kv.putKey(record.key);
    stagedBytes += record.key.key.length + record.key.value.length;
    if (++stagedKeys >= importBatchKeys || stagedBytes >= importBatchBytes) {
      store.commit();
      stagedKeys = 0;
      stagedBytes = 0;
    }
  }
  const revision = header!.revision;
  if (revision > 0) {
    kv.setAppliedRevision(revision);
    kv.pruneEvents(revision + 1, 0); // no watch history before the restore: a watch from earlier is told so
  }
  store.commit();
  // The consensus core starts with slots [0, revision) compacted into a snapshot of this state, so the log
  // continues at revision + 1 and joiners are synced from the snapshot.
  if (revision > 0) {
    // The tables just written are the state at `revision`: the snapshot is the stored handle to them, never
    // the whole state as one object (which held it all in memory).
    const snapshot: KvSnapshot = { kind: "stored", lastRevision: revision };
    store.setSnapshot(revision, snapshot);
    store.setDecidedIdx(revision);
  }
  const membership: Membership = {
    clusterId: randomUUID(),
    nextNodeId: 2,
    configuration: {
      configurationId: 1,
      startIdx: 0,
      members: [{ nodeId: 1, name: rt.options.name, address: rt.address, storageId: store.identity.storageId }],
    },
  };
  store.setMeta(RESTORING_META, undefined); // in the commit that installs the cluster
  rt.install(1, membership);
  rt.logger.info("restored from snapshot", { file, clusterId: membership.clusterId, fromClusterId: header!.clusterId, revision, keyCount: header!.keyCount });
  return { clusterId: membership.clusterId, revision, keyCount: header!.keyCount };
}

/** The second pass over a file the first pass found whole: a failure now means it changed in between. */
async function* rereadSnapshot(file: string): AsyncGenerator<SnapshotRecord> {
  try {
    yield* readSnapshot(createReadStream(file, { highWaterMark: 1024 * 1024 }));
  } catch (e) {
    if (!(e instanceof SnapshotFormatError)) throw e;
    throw new SnapshotFormatError(`cannot restore from ${file}: ${e.message} (the file changed while it was read; run metad --restore again)`);
  }
}

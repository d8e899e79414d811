// ClusterService.SaveSnapshot: a consistent snapshot of this node's applied KV state, encoded in the
// snapshot file format and streamed in chunks of at most 1 MiB. The stream is pulled by the client
// (HTTP/2 flow control), so a slow reader slows the encoder instead of making it buffer.

import type { NodeRuntime } from "../node/node-runtime.ts";
import { OpError, unavailable } from "../rpc/op-error.ts";
import { SnapshotEncoder } from "./snapshot-format.ts";
import { SqliteSnapshotSource } from "./sqlite-snapshot-source.ts";

/** Largest chunk of one SaveSnapshotResponse. */
export const snapshotChunkBytesMax = 1024 * 1024;

/**
 * The snapshot bytes of `source`, chunked; `source` is closed (and its copy removed) when the stream ends or
 * is cut. With `transfer`, the stream also carries the de-dup records and the member directory (a snapshot
 * for a peer, not for a file).
 */
export function* snapshotChunks(source: SqliteSnapshotSource, clusterId: string, chunkBytesMax = snapshotChunkBytesMax, transfer = false): Generator<Uint8Array> {
  try {
    yield* chunked(snapshotFrames(source, clusterId, transfer), chunkBytesMax);
  } finally {
    source.close();
  }
}

function* snapshotFrames(source: SqliteSnapshotSource, clusterId: string, transfer: boolean): Generator<Uint8Array> {
  const encoder = new SnapshotEncoder();
  yield encoder.header({ revision: source.revision, clusterId, keyCount: source.keyCount });
  for (const key of source.keys()) yield encoder.key(key);
  if (transfer) {
    for (const [id, rec] of source.dedup()) yield encoder.dedup(id, rec);
    yield encoder.directory(source.directory());
  }
  yield encoder.end();
}

/** `frames` packed into chunks of at most chunkBytesMax bytes; a frame larger than a chunk (a value near the 1 MiB limit) is cut across chunks. */
function* chunked(frames: Iterable<Uint8Array>, chunkBytesMax: number): Generator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const take = (): Uint8Array => {
    const out = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  for (const frame of frames) {
    if (pendingBytes + frame.length > chunkBytesMax && pendingBytes > 0) yield take();
    for (let at = 0; at < frame.length; at += chunkBytesMax) {
      const piece = frame.subarray(at, at + chunkBytesMax);
      if (pendingBytes + piece.length > chunkBytesMax) yield take();
      pending.push(piece);
      pendingBytes += piece.length;
    }
  }
  if (pendingBytes > 0) yield take();
}

/** The handler: an active node snapshots its own applied state (a decided prefix of the log). Errors leave as Connect codes. */
export async function* saveSnapshot(rt: NodeRuntime): AsyncGenerator<{ chunk: Uint8Array }> {
  try {
    if (rt.state !== "active" || rt.closing || rt.draining) throw unavailable(`node ${rt.options.name} is ${rt.closing || rt.draining ? "shutting down" : rt.state}; ask an active member`);
    const source = await SqliteSnapshotSource.open(rt.store, rt.options.dataDir);
    rt.logger.info("snapshot save started", { revision: source.revision, keyCount: source.keyCount });
    let bytes = 0;
    for (const chunk of snapshotChunks(source, rt.clusterId)) {
      bytes += chunk.length;
      yield { chunk };
    }
    rt.logger.info("snapshot save finished", { revision: source.revision, keyCount: source.keyCount, bytes });
  } catch (e) {
    throw OpError.from(e).toConnectError();
  }
}

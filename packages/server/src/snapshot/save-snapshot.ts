// ClusterService.SaveSnapshot: a consistent snapshot of this node's applied KV state, encoded in the
// snapshot file format and streamed in chunks of at most 1 MiB. The stream is pulled by the client
// (HTTP/2 flow control), so a slow reader slows the encoder instead of making it buffer.

import type { NodeRuntime } from "../node/node-runtime.ts";
import { OpError, unavailable } from "../rpc/op-error.ts";
import { SnapshotEncoder } from "./snapshot-format.ts";
import { SqliteSnapshotSource } from "./sqlite-snapshot-source.ts";

/** Largest chunk of one SaveSnapshotResponse. */
export const snapshotChunkBytesMax = 1024 * 1024;

/** The snapshot bytes, chunked; `source` is closed (and its copy removed) when the stream ends or is cut. */
export async function* snapshotChunks(source: SqliteSnapshotSource, clusterId: string, chunkBytesMax = snapshotChunkBytesMax): AsyncGenerator<Uint8Array> {
  const encoder = new SnapshotEncoder();
  let pending: Uint8Array[] = [encoder.header({ revision: source.revision, clusterId, keyCount: source.keyCount })];
  let pendingBytes = pending[0]!.length;
  const take = (): Uint8Array => {
    const out = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  try {
    for (const key of source.keys()) {
      const frame = encoder.key(key);
      if (pendingBytes + frame.length > chunkBytesMax && pendingBytes > 0) yield take();
      // A frame larger than a chunk (a value near the 1 MiB limit) is cut across chunks.
      for (let at = 0; at < frame.length; at += chunkBytesMax) {
        const piece = frame.subarray(at, at + chunkBytesMax);
        if (pendingBytes + piece.length > chunkBytesMax) yield take();
        pending.push(piece);
        pendingBytes += piece.length;
      }
    }
    const end = encoder.end();
    if (pendingBytes + end.length > chunkBytesMax) yield take();
    pending.push(end);
    yield take();
  } finally {
    source.close();
  }
}

/** The handler: an active node snapshots its own applied state (a decided prefix of the log). Errors leave as Connect codes. */
export async function* saveSnapshot(rt: NodeRuntime): AsyncGenerator<{ chunk: Uint8Array }> {
  try {
    if (rt.state !== "active" || rt.closing || rt.draining) throw unavailable(`node ${rt.options.name} is ${rt.closing || rt.draining ? "shutting down" : rt.state}; ask an active member`);
    const source = await SqliteSnapshotSource.open(rt.store, rt.options.dataDir);
    rt.logger.info("snapshot save started", { revision: source.revision, keyCount: source.keyCount });
    let bytes = 0;
    for await (const chunk of snapshotChunks(source, rt.clusterId)) {
      bytes += chunk.length;
      yield { chunk };
    }
    rt.logger.info("snapshot save finished", { revision: source.revision, keyCount: source.keyCount, bytes });
  } catch (e) {
    throw OpError.from(e).toConnectError();
  }
}

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
export async function* snapshotChunks(source: SqliteSnapshotSource, clusterId: string, chunkBytesMax = snapshotChunkBytesMax, transfer = false): AsyncGenerator<Uint8Array> {
  try {
    yield* chunked(snapshotFrames(source, clusterId, transfer), chunkBytesMax);
  } finally {
    source.close();
  }
}

/**
 * Longest stretch, in ms, that encoding a snapshot holds the event loop before it lets other work run. A
 * 1 MiB chunk of 1 KiB rows costs ~25 ms of reads and encoding: made in one go, every write and heartbeat
 * on a leader serving a joiner waited behind each chunk in turn (bench:join: the writers kept 0.17 of
 * their throughput). Reads resume from the same statement on the copy's own connection.
 */
const encodeSliceMs = 2;

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
async function* chunked(frames: Iterable<Uint8Array>, chunkBytesMax: number): AsyncGenerator<Uint8Array> {
  let sliceStarted = performance.now();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const take = (): Uint8Array => {
    const out = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  for (const frame of frames) {
    if (performance.now() - sliceStarted >= encodeSliceMs) {
      await new Promise((r) => setImmediate(r));
      sliceStarted = performance.now();
    }
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
    for await (const chunk of snapshotChunks(source, rt.clusterId)) {
      bytes += chunk.length;
      yield { chunk };
    }
    rt.logger.info("snapshot save finished", { revision: source.revision, keyCount: source.keyCount, bytes });
  } catch (e) {
    throw OpError.from(e).toConnectError();
  }
}

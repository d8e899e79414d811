// The snapshot file format (ctl snapshot save / metad --restore): a versioned, checksummed stream of
// framed records, written and read incrementally so that no side ever holds the whole state.
//
//   magic "OMNISNAP" (8 bytes) · format version (1 byte) · frames · SHA-256 of everything before it (32 bytes)
//   frame = type (1 byte) · payload length (u32 big-endian) · payload
//   HEADER (once, first): varint revision · string source cluster id · varint key count
//   KEY (key count times, ascending by key): string key · bytes value · varint version · varint createRevision · varint modRevision
//   DEDUP (state transfer only, after the keys): a de-dup record (kv-snapshot.ts writeFullDedup)
//   DIRECTORY (state transfer only, at most once, after the keys): the member directory (writeFullDirectory)
//   END (once, last): varint key count (again, so that a cut between frames is caught before the checksum)
//
// The same stream carries a snapshot to a peer (state transfer: node/state-transfer.ts), where the
// replicated state also holds the de-dup records and the member directory. A file never holds them
// (ctl snapshot save starts a new cluster on restore), and restore ignores them.

import { createHash, type Hash } from "node:crypto";
import { ByteReader, ByteWriter } from "../state-machine/byte-codec.ts";
import type { MemberDirectory } from "../state-machine/kv-backend.ts";
import { readFullDedup, readFullDirectory, writeFullDedup, writeFullDirectory } from "../state-machine/kv-snapshot.ts";
import type { DedupRecord, KeyRecord } from "../state-machine/kv-types.ts";
import { compareKeys } from "../state-machine/memory-kv-backend.ts";

export const SNAPSHOT_MAGIC = Buffer.from("OMNISNAP", "ascii");
export const SNAPSHOT_FORMAT_VERSION = 1;
const CHECKSUM_BYTES = 32;
const FRAME_HEAD_BYTES = 5;
/** A frame larger than this is corruption (a key record is bounded by the value limit, 1 MiB by default). */
const frameBytesMax = 64 * 1024 * 1024;

const T_HEADER = 1;
const T_KEY = 2;
const T_END = 3;
const T_DEDUP = 4;
const T_DIRECTORY = 5;

export interface SnapshotHeader {
  /** The revision (applied log index) the snapshot is at. */
  revision: number;
  /** The cluster the snapshot was taken from. */
  clusterId: string;
  keyCount: number;
}

/** The file is not a usable snapshot: the message is one line for the operator. */
export class SnapshotFormatError extends Error {
  override name = "SnapshotFormatError";
}

/** Encodes a snapshot piece by piece: header(), key() per key, end() (which appends the checksum). */
export class SnapshotEncoder {
  private readonly hash: Hash = createHash("sha256");
  private keysWritten = 0;
  private expectedKeys = 0;

  header(h: SnapshotHeader): Uint8Array {
    this.expectedKeys = h.keyCount;
    const prefix = Buffer.concat([SNAPSHOT_MAGIC, Buffer.from([SNAPSHOT_FORMAT_VERSION])]);
    this.hash.update(prefix);
    const payload = new ByteWriter(64).varint(h.revision).string(h.clusterId).varint(h.keyCount).finish();
    return Buffer.concat([prefix, this.frame(T_HEADER, payload)]);
  }

  key(k: KeyRecord): Uint8Array {
    this.keysWritten++;
    const payload = new ByteWriter(k.key.length + k.value.length + 32)
      .string(k.key).bytes(k.value).varint(k.version).varint(k.createRevision).varint(k.modRevision).finish();
    return this.frame(T_KEY, payload);
  }

  dedup(id: string, rec: DedupRecord): Uint8Array {
    const w = new ByteWriter(64 + id.length);
    writeFullDedup(w, id, rec);
    return this.frame(T_DEDUP, w.finish());
  }

  directory(d: MemberDirectory | undefined): Uint8Array {
    const w = new ByteWriter(256);
    writeFullDirectory(w, d);
    return this.frame(T_DIRECTORY, w.finish());
  }

  end(): Uint8Array {
    if (this.keysWritten !== this.expectedKeys) {
      throw new Error(`snapshot encoder: the header announced ${this.expectedKeys} keys but ${this.keysWritten} were written`);
    }
    const frame = this.frame(T_END, new ByteWriter(8).varint(this.keysWritten).finish());
    return Buffer.concat([frame, this.hash.digest()]);
  }

  private frame(type: number, payload: Uint8Array): Uint8Array {
    const head = Buffer.alloc(FRAME_HEAD_BYTES);
    head.writeUInt8(type, 0);
    head.writeUInt32BE(payload.length, 1);
    const out = Buffer.concat([head, payload]);
    this.hash.update(out);
    return out;
  }
}

/** What a reader yields: the header first, then every key, ascending, then (a transfer) de-dup records and the directory. */
export type SnapshotRecord =
  | { kind: "header"; header: SnapshotHeader }
  | { kind: "key"; key: KeyRecord }
  | { kind: "dedup"; id: string; record: DedupRecord }
  | { kind: "directory"; directory: MemberDirectory | undefined };

/**
 * Decodes a snapshot from its bytes (in chunks of any size), checking the magic, the format version,
 * every frame and, at the end, the key count and the checksum. Records are yielded as they are read:
 * a caller that acts on them before the end must be able to throw them away (restore validates the
 * whole file in a first pass for this reason).
 */
export async function* readSnapshot(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SnapshotRecord> {
  const hash = createHash("sha256");
  let buf: Buffer = Buffer.alloc(0);
  let started = false;
  let header: SnapshotHeader | undefined;
  let keyCount = 0;
  let lastKey: string | undefined;
  let pastKeys = false;
  let ended = false;
  const fail = (why: string): never => {
    throw new SnapshotFormatError(why);
  };
  /** Decodes every whole frame at the front of `buf`, leaving a partial one (or the checksum) in it. */
  function* frames(): Generator<SnapshotRecord> {
    while (!ended && buf.length >= FRAME_HEAD_BYTES) {
      const type = buf.readUInt8(0);
      const length = buf.readUInt32BE(1);
      if (length > frameBytesMax) fail(`corrupt snapshot: a frame of ${length} bytes`);
      if (buf.length < FRAME_HEAD_BYTES + length) break;
      const frame = buf.subarray(0, FRAME_HEAD_BYTES + length);
      hash.update(frame);
      const r = new ByteReader(frame.subarray(FRAME_HEAD_BYTES));
      buf = buf.subarray(FRAME_HEAD_BYTES + length);
      const record = decodeFrame(type, r, header, fail);
      if (record === "end") {
        if (r.varint() !== keyCount || keyCount !== header!.keyCount) fail(`corrupt snapshot: ${keyCount} keys read, ${header!.keyCount} announced`);
        if (!r.done) fail("corrupt snapshot: bytes after the end record's key count");
        ended = true;
      } else if (record.kind === "header") {
        header = record.header;
        yield record;
      } else if (record.kind !== "key") {
        pastKeys = true;
        yield record;
      } else {
        if (pastKeys) fail("corrupt snapshot: a key after the de-dup records");
        if (lastKey !== undefined && compareKeys(record.key.key, lastKey) <= 0) fail("corrupt snapshot: keys out of order");
        lastKey = record.key.key;
        keyCount++;
        if (keyCount > header!.keyCount) fail("corrupt snapshot: more keys than announced");
        yield record;
      }
    }
  }
  for await (const chunk of chunks) {
    // Records are decoded from a view of the chunk (no copy: they keep only that chunk alive). A frame cut by
    // the chunk boundary is completed from the next chunk's first bytes alone, so only that frame is copied,
    // not the whole next chunk.
    let next = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buf.length > 0 && started && !ended) {
      if (buf.length < FRAME_HEAD_BYTES) {
        const take = Math.min(FRAME_HEAD_BYTES - buf.length, next.length);
        buf = Buffer.concat([buf, next.subarray(0, take)]);
        next = next.subarray(take);
        if (buf.length < FRAME_HEAD_BYTES) continue;
      }
      const length = buf.readUInt32BE(1);
      if (length > frameBytesMax) fail(`corrupt snapshot: a frame of ${length} bytes`);
      const take = Math.min(FRAME_HEAD_BYTES + length - buf.length, next.length);
      buf = Buffer.concat([buf, next.subarray(0, take)]);
      next = next.subarray(take);
      if (next.length === 0) {
        yield* frames();
        continue;
      }
      yield* frames(); // the completed frame: buf is empty now
    }
    buf = buf.length === 0 ? next : Buffer.concat([buf, next]);
    if (!started) {
      if (buf.length < SNAPSHOT_MAGIC.length + 1) continue;
      if (!buf.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) fail("not an omnimeta snapshot file (bad magic)");
      const version = buf[SNAPSHOT_MAGIC.length]!;
      if (version !== SNAPSHOT_FORMAT_VERSION) fail(`snapshot format version ${version} is not supported (this metad reads version ${SNAPSHOT_FORMAT_VERSION})`);
      hash.update(buf.subarray(0, SNAPSHOT_MAGIC.length + 1));
      buf = buf.subarray(SNAPSHOT_MAGIC.length + 1);
      started = true;
    }
    yield* frames();
  }
  if (!started) fail("truncated snapshot file (no header)");
  if (!ended) fail("truncated snapshot file (it ends before its last record)");
  if (buf.length !== CHECKSUM_BYTES) fail(buf.length < CHECKSUM_BYTES ? "truncated snapshot file (checksum missing)" : "corrupt snapshot: bytes after the checksum");
  if (!hash.digest().equals(buf)) fail("corrupt snapshot: checksum mismatch");
}

function decodeFrame(type: number, r: ByteReader, header: SnapshotHeader | undefined, fail: (why: string) => never): SnapshotRecord | "end" {
  try {
    switch (type) {
      case T_HEADER: {
        if (header !== undefined) fail("corrupt snapshot: a second header");
        const h: SnapshotHeader = { revision: r.varint(), clusterId: r.string(), keyCount: r.varint() };
        r.end();
        return { kind: "header", header: h };
      }
      case T_KEY: {
        if (header === undefined) fail("corrupt snapshot: a key before the header");
        const key: KeyRecord = { key: r.string(), value: r.bytes(), version: r.varint(), createRevision: r.varint(), modRevision: r.varint() };
        r.end();
        if (key.modRevision > header!.revision || key.createRevision > key.modRevision || key.version < 1) fail(`corrupt snapshot: key "${key.key}" has impossible revisions`);
        return { kind: "key", key };
      }
      case T_DEDUP: {
        if (header === undefined) fail("corrupt snapshot: a de-dup record before the header");
        const [id, record] = readFullDedup(r);
        r.end();
        return { kind: "dedup", id, record };
      }
      case T_DIRECTORY: {
        if (header === undefined) fail("corrupt snapshot: a directory before the header");
        const directory = readFullDirectory(r);
        r.end();
        return { kind: "directory", directory };
      }
      case T_END:
        if (header === undefined) fail("corrupt snapshot: the end before the header");
        return "end";
      default:
        return fail(`corrupt snapshot: unknown record type ${type}`);
    }
  } catch (e) {
    if (e instanceof SnapshotFormatError) throw e;
    return fail(`corrupt snapshot: ${(e as Error).message}`);
  }
}

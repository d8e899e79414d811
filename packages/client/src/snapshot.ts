// ClusterService.SaveSnapshot on the client side: the stream of a snapshot file's bytes, and the header at
// its start (the revision, source cluster and key count), so that a caller can say what it saved. The
// format is the server's (packages/server/src/snapshot/snapshot-format.ts); the whole file — every frame,
// the key count and the SHA-256 checksum — is checked by `metad --restore`, not here.

import { Code } from "@connectrpc/connect";
import { InvalidArgumentError } from "./errors.ts";

const MAGIC = "OMNISNAP";
/** The snapshot format versions this client can describe. */
const FORMAT_VERSION = 1;
const T_HEADER = 1;

/** What the first bytes of a snapshot say. */
export interface SnapshotInfo {
  formatVersion: number;
  /** The revision (applied log index) every key of the snapshot is at. */
  revision: number;
  /** The cluster the snapshot was taken from. */
  clusterId: string;
  keyCount: number;
}

/** A snapshot being received: the node it comes from, its header, and every chunk (the first included), in order. */
export interface SnapshotStream {
  address: string;
  info: SnapshotInfo;
  /** The file is the concatenation of the chunks (each at most 1 MiB). It fails if the stream is cut. */
  chunks: AsyncGenerator<Uint8Array>;
}

/**
 * Reads the header at the start of a snapshot (magic · format version · HEADER frame). Returns undefined
 * when `bytes` is too short to hold it; throws InvalidArgumentError when the bytes are not a snapshot.
 */
export function readSnapshotInfo(bytes: Uint8Array): SnapshotInfo | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const headEnd = MAGIC.length + 1 + 5;
  if (b.length < headEnd) return undefined;
  if (b.toString("latin1", 0, MAGIC.length) !== MAGIC) throw notASnapshot("bad magic");
  const formatVersion = b[MAGIC.length]!;
  if (formatVersion !== FORMAT_VERSION) throw notASnapshot(`format version ${formatVersion}, this client reads version ${FORMAT_VERSION}`);
  if (b[MAGIC.length + 1] !== T_HEADER) throw notASnapshot("no header record");
  const payloadBytes = b.readUInt32BE(MAGIC.length + 2);
  if (b.length < headEnd + payloadBytes) return undefined;
  const payload = b.subarray(headEnd, headEnd + payloadBytes);
  let at = 0;
  const varint = (): number => {
    let result = 0;
    for (let scale = 1; ; scale *= 0x80) {
      if (at >= payload.length || scale > 2 ** 49) throw notASnapshot("bad header record");
      const byte = payload[at++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
    }
  };
  const revision = varint();
  const clusterIdBytes = varint();
  if (at + clusterIdBytes > payload.length) throw notASnapshot("bad header record");
  const clusterId = payload.toString("utf8", at, (at += clusterIdBytes));
  return { formatVersion, revision, clusterId, keyCount: varint() };
}

function notASnapshot(why: string): InvalidArgumentError {
  return new InvalidArgumentError(Code.InvalidArgument, `the server sent no omnimeta snapshot (${why})`);
}

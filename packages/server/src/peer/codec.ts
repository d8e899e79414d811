// Wire codec of core messages between peers: one versioned blob per Exchange batch.
// Layout: [codec version byte][node:v8 serialization of Message<T>[]]. Core messages are plain data
// (numbers, strings, Uint8Array, arrays, objects), which v8 serialization carries compactly and exactly.

import { deserialize, serialize } from "node:v8";

export const PEER_CODEC_VERSION = 1;

export class PeerCodecError extends Error {
  override name = "PeerCodecError";
}

export function encodeBatch(messages: readonly unknown[]): Uint8Array {
  const body = serialize(messages);
  const out = new Uint8Array(body.length + 1);
  out[0] = PEER_CODEC_VERSION;
  out.set(body, 1);
  return out;
}

export function decodeBatch<M>(bytes: Uint8Array): M[] {
  if (bytes.length < 1) throw new PeerCodecError("empty peer batch");
  if (bytes[0] !== PEER_CODEC_VERSION) {
    throw new PeerCodecError(`peer batch codec version ${bytes[0]} is not supported (this node speaks ${PEER_CODEC_VERSION})`);
  }
  let value: unknown;
  try {
    value = deserialize(bytes.subarray(1));
  } catch (e) {
    throw new PeerCodecError(`malformed peer batch: ${(e as Error).message}`);
  }
  if (!Array.isArray(value)) throw new PeerCodecError("malformed peer batch: not a list");
  return value as M[];
}

// Binary codec of a log slot as the core stores and replicates it: an application command or a
// StopSign (next configuration + opaque metadata). Used for the `log` table rows.

import type { StoredEntry } from "@omnimeta/omnipaxos";
import { ByteReader, ByteWriter, DecodeError } from "./byte-codec.ts";
import { type Command, readCommand, writeCommand } from "./command.ts";

const SLOT_ENTRY = 1;
const SLOT_STOPSIGN = 2;

export function encodeStoredEntry(slot: StoredEntry<Command>): Uint8Array {
  const w = new ByteWriter(slot.kind === "entry" && slot.entry.kind === "put" ? slot.entry.value.length + 48 : 32);
  if (slot.kind === "entry") {
    w.u8(SLOT_ENTRY);
    writeCommand(w, slot.entry);
  } else {
    const { nextConfig, metadata } = slot.stopSign;
    w.u8(SLOT_STOPSIGN).varint(nextConfig.configurationId).varint(nextConfig.nodes.length);
    for (const n of nextConfig.nodes) w.varint(n);
    w.u8(metadata ? 1 : 0);
    if (metadata) w.bytes(metadata);
  }
  return w.finish();
}

export function decodeStoredEntry(bytes: Uint8Array): StoredEntry<Command> {
  const r = new ByteReader(bytes);
  const tag = r.u8();
  let slot: StoredEntry<Command>;
  if (tag === SLOT_ENTRY) {
    slot = { kind: "entry", entry: readCommand(r) };
  } else if (tag === SLOT_STOPSIGN) {
    const configurationId = r.varint();
    const nodes: number[] = [];
    for (let i = r.varint(); i > 0; i--) nodes.push(r.varint());
    const metadata = r.u8() === 1 ? r.bytes() : undefined;
    slot = { kind: "stopsign", stopSign: metadata ? { nextConfig: { configurationId, nodes }, metadata } : { nextConfig: { configurationId, nodes } } };
  } else {
    throw new DecodeError(`unknown log slot tag ${tag}`);
  }
  r.end();
  return slot;
}

export const storedEntryCodec = { encode: encodeStoredEntry, decode: decodeStoredEntry } as const;

// The replicated command: the `T` of OmniPaxos<T> in the server, and its compact binary codec.
// Every decided command is applied by KvStateMachine.apply in log order on every replica.

import { ByteReader, ByteWriter, DecodeError } from "./byte-codec.ts";

/** A condition checked atomically with a write. */
export type Precondition =
  | { kind: "none" }
  | { kind: "doesNotExist" }
  | { kind: "matchesVersion"; version: number };

/** Node id -> identity of one member incarnation, replicated so every node can route to every other. */
export interface MemberInfo {
  nodeId: number;
  name: string;
  /** Address peers and clients use, e.g. http://127.0.0.1:7001. */
  address: string;
  storageId: string;
}

export interface PutCommand {
  kind: "put";
  key: string;
  value: Uint8Array;
  precondition: Precondition;
  /** Client-generated id for at-most-once application; "" disables de-duplication. */
  requestId: string;
}

export interface DeleteCommand {
  kind: "delete";
  key: string;
  precondition: Precondition;
  /** Client-generated id for at-most-once application; "" disables de-duplication. */
  requestId: string;
}

/** Decided by a new leader to commit its term / as a barrier; changes nothing but the revision. */
export interface NoopCommand {
  kind: "noop";
}

/**
 * Replaces the replicated member directory (node id -> name/address/storage id) and records the
 * cluster id. Membership itself changes through the core's reconfigure/StopSign; this command only
 * carries the descriptive data that the StopSign's node-id list lacks (e.g. a changed address).
 */
export interface MembersCommand {
  kind: "members";
  clusterId: string;
  members: MemberInfo[];
}

export type Command = PutCommand | DeleteCommand | NoopCommand | MembersCommand;

const TAG_PUT = 1;
const TAG_DELETE = 2;
const TAG_NOOP = 3;
const TAG_MEMBERS = 4;

const PRE_NONE = 0;
const PRE_DOES_NOT_EXIST = 1;
const PRE_MATCHES_VERSION = 2;

export const NO_PRECONDITION: Precondition = Object.freeze({ kind: "none" }) as Precondition;

function writePrecondition(w: ByteWriter, p: Precondition): void {
  switch (p.kind) {
    case "none":
      w.u8(PRE_NONE);
      return;
    case "doesNotExist":
      w.u8(PRE_DOES_NOT_EXIST);
      return;
    case "matchesVersion":
      w.u8(PRE_MATCHES_VERSION).varint(p.version);
      return;
  }
}

function readPrecondition(r: ByteReader): Precondition {
  const tag = r.u8();
  if (tag === PRE_NONE) return NO_PRECONDITION;
  if (tag === PRE_DOES_NOT_EXIST) return { kind: "doesNotExist" };
  if (tag === PRE_MATCHES_VERSION) return { kind: "matchesVersion", version: r.varint() };
  throw new DecodeError(`unknown precondition tag ${tag}`);
}

/** Writes a member list (shared with the snapshot codec). */
export function writeMembers(w: ByteWriter, members: readonly MemberInfo[]): void {
  w.varint(members.length);
  for (const m of members) w.varint(m.nodeId).string(m.name).string(m.address).string(m.storageId);
}

export function readMembers(r: ByteReader): MemberInfo[] {
  const count = r.varint();
  const members: MemberInfo[] = [];
  for (let i = 0; i < count; i++) {
    members.push({ nodeId: r.varint(), name: r.string(), address: r.string(), storageId: r.string() });
  }
  return members;
}

/** Appends one command to `w` (used directly by the snapshot codec for delta snapshots). */
export function writeCommand(w: ByteWriter, command: Command): void {
  switch (command.kind) {
    case "put":
      w.u8(TAG_PUT).string(command.key).string(command.requestId);
      writePrecondition(w, command.precondition);
      w.bytes(command.value);
      return;
    case "delete":
      w.u8(TAG_DELETE).string(command.key).string(command.requestId);
      writePrecondition(w, command.precondition);
      return;
    case "noop":
      w.u8(TAG_NOOP);
      return;
    case "members":
      w.u8(TAG_MEMBERS).string(command.clusterId);
      writeMembers(w, command.members);
      return;
  }
}

export function readCommand(r: ByteReader): Command {
  const tag = r.u8();
  switch (tag) {
    case TAG_PUT: {
      const key = r.string();
      const requestId = r.string();
      const precondition = readPrecondition(r);
      return { kind: "put", key, value: r.bytes(), precondition, requestId };
    }
    case TAG_DELETE: {
      const key = r.string();
      const requestId = r.string();
      return { kind: "delete", key, precondition: readPrecondition(r), requestId };
    }
    case TAG_NOOP:
      return { kind: "noop" };
    case TAG_MEMBERS:
      return { kind: "members", clusterId: r.string(), members: readMembers(r) };
    default:
      throw new DecodeError(`unknown command tag ${tag}`);
  }
}

/** Encodes a command to bytes (the log entry blob and the peer wire format). */
export function encodeCommand(command: Command): Uint8Array {
  const w = new ByteWriter(command.kind === "put" ? command.value.length + command.key.length + 32 : 16);
  writeCommand(w, command);
  return w.finish();
}

/** Decodes bytes made by encodeCommand; throws DecodeError on malformed input. */
export function decodeCommand(bytes: Uint8Array): Command {
  const r = new ByteReader(bytes);
  const command = readCommand(r);
  r.end();
  return command;
}

/** The codec object handed to storage and the peer transport. */
export const commandCodec = { encode: encodeCommand, decode: decodeCommand } as const;

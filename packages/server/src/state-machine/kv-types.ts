// Values of the key-value state machine: stored keys, apply results, watch events, de-dup records.
// Revisions are 1-based log positions: the entry at 0-based log index i has revision i + 1.

import { ByteReader, ByteWriter, DecodeError } from "./byte-codec.ts";

/** One stored key. Invariant: version >= 1 and createRevision <= modRevision. */
export interface KeyRecord {
  key: string;
  value: Uint8Array;
  /** 1 on create, +1 per put; starts again at 1 after a delete. */
  version: number;
  /** Revision of the put that created the key. */
  createRevision: number;
  /** Revision of the last put of the key. */
  modRevision: number;
}

/**
 * The outcome of applying one command. A retried request id gets the FIRST outcome, unchanged
 * (including its revision), so `revision` is the revision of the original apply.
 */
export type ApplyResult =
  /** Put or delete done. Put: version = new version. Delete: version = 0. previousVersion = 0 if absent. */
  | { kind: "ok"; revision: number; version: number; previousVersion: number }
  /** Precondition did not hold; nothing changed. currentVersion = 0 when the key does not exist. */
  | { kind: "preconditionFailed"; revision: number; key: string; exists: boolean; currentVersion: number }
  /** Delete of a key that does not exist (and whose precondition held); nothing changed. */
  | { kind: "notFound"; revision: number; key: string }
  /** A noop or members command. */
  | { kind: "applied"; revision: number }
  /** The request id was first used for another operation or key: nothing changed (never remembered). */
  | { kind: "requestIdReused"; revision: number; requestId: string };

export type WatchEventType = "put" | "delete";

/** A change to one key. For a delete: value is empty, version is the deleted key's last version. */
export interface WatchEvent {
  type: WatchEventType;
  kv: KeyRecord;
  revision: number;
}

/** A key, or every key starting with `key` when prefix is true. */
export interface WatchFilter {
  key: string;
  prefix: boolean;
}

export function matchesFilter(filter: WatchFilter, key: string): boolean {
  return filter.prefix ? key.startsWith(filter.key) : key === filter.key;
}

/** What de-duplication remembers per request id. */
export interface DedupRecord {
  /** Revision at which the request id was first applied (its age is measured from here). */
  revision: number;
  result: ApplyResult;
  /** dedupTargetOf the command (undefined in records from before it was kept: then any retry matches). */
  target?: string;
}

const R_OK = 1;
const R_PRECONDITION = 2;
const R_NOT_FOUND = 3;
const R_APPLIED = 4;
const R_REUSED = 5;

export function writeApplyResult(w: ByteWriter, r: ApplyResult): void {
  switch (r.kind) {
    case "ok":
      w.u8(R_OK).varint(r.revision).varint(r.version).varint(r.previousVersion);
      return;
    case "preconditionFailed":
      w.u8(R_PRECONDITION).varint(r.revision).string(r.key).u8(r.exists ? 1 : 0).varint(r.currentVersion);
      return;
    case "notFound":
      w.u8(R_NOT_FOUND).varint(r.revision).string(r.key);
      return;
    case "applied":
      w.u8(R_APPLIED).varint(r.revision);
      return;
    case "requestIdReused":
      w.u8(R_REUSED).varint(r.revision).string(r.requestId);
      return;
  }
}

export function readApplyResult(r: ByteReader): ApplyResult {
  const tag = r.u8();
  switch (tag) {
    case R_OK:
      return { kind: "ok", revision: r.varint(), version: r.varint(), previousVersion: r.varint() };
    case R_PRECONDITION:
      return { kind: "preconditionFailed", revision: r.varint(), key: r.string(), exists: r.u8() === 1, currentVersion: r.varint() };
    case R_NOT_FOUND:
      return { kind: "notFound", revision: r.varint(), key: r.string() };
    case R_APPLIED:
      return { kind: "applied", revision: r.varint() };
    case R_REUSED:
      return { kind: "requestIdReused", revision: r.varint(), requestId: r.string() };
    default:
      throw new DecodeError(`unknown apply result tag ${tag}`);
  }
}

export function encodeApplyResult(result: ApplyResult): Uint8Array {
  const w = new ByteWriter(32);
  writeApplyResult(w, result);
  return w.finish();
}

export function decodeApplyResult(bytes: Uint8Array): ApplyResult {
  const r = new ByteReader(bytes);
  const result = readApplyResult(r);
  r.end();
  return result;
}

/** What a request id was first used for: the operation and its key (a retry repeats both). */
export function dedupTargetOf(command: { kind: "put" | "delete"; key: string }): string {
  return `${command.kind}\u0000${command.key}`;
}

/** A de-dup record as stored: the first result, then its target (absent in records written before targets). */
export function encodeDedupValue(rec: DedupRecord): Uint8Array {
  const w = new ByteWriter(48);
  writeApplyResult(w, rec.result);
  if (rec.target !== undefined) w.string(rec.target);
  return w.finish();
}

export function decodeDedupValue(revision: number, bytes: Uint8Array): DedupRecord {
  const r = new ByteReader(bytes);
  const result = readApplyResult(r);
  const target = r.done ? undefined : r.string();
  r.end();
  return target === undefined ? { revision, result } : { revision, result, target };
}

// Checks client requests against limits.ts and turns writes into replicated commands. Anything past a
// limit is rejected here, before it reaches the log: INVALID_ARGUMENT for malformed input,
// RESOURCE_EXHAUSTED for an oversized value.

import { randomUUID } from "node:crypto";
import { normaliseUrl } from "../config.ts";
import type { DeleteRequest, Precondition as PbPrecondition, PutRequest } from "@omnimeta/proto";
import type { DeleteCommand, Precondition, PutCommand } from "../state-machine/command.ts";
import type { Limits } from "../limits.ts";
import { invalidArgument, resourceExhausted } from "./op-error.ts";

const encoder = new TextEncoder();
/** NUL, U+FFFD (what a decoder makes of bytes that are not UTF-8) and lone surrogates (JSON "\ud800"). */
const badKeyChar = /[\u0000\uFFFD\p{Cs}]/u;

export function validateKey(key: string, limits: Limits, what = "key"): void {
  if (key.length === 0) throw invalidArgument(`${what} must not be empty`);
  const bytes = key.length * 3 <= limits.keyBytesMax ? key.length : encoder.encode(key).length;
  if (bytes > limits.keyBytesMax) throw invalidArgument(`${what} is ${bytes} bytes; the limit is ${limits.keyBytesMax} bytes`);
  if (badKeyChar.test(key)) {
    throw invalidArgument(key.includes("\u0000") ? `${what} must not contain NUL characters` : `${what} must be valid UTF-8 (no U+FFFD, no lone surrogates)`);
  }
}

/** A member's address in AddMember or Join: bounded, and a URL or HOST:PORT that can be dialled. */
export function validateMemberAddress(address: string, limits: Limits): void {
  validateName(address, limits.addressBytesMax, "address");
  let url: string;
  try {
    url = normaliseUrl(address);
  } catch {
    throw invalidArgument(`address "${address.slice(0, 100)}" is not a URL or HOST:PORT`);
  }
  if (!/^https?:\/\/[^/]+:\d+$/.test(url) || !parsesAsUrl(url)) throw invalidArgument(`address "${address.slice(0, 100)}" must be http(s)://HOST:PORT`);
}

/** HOST:PORT forms that parseHostPort lets through but a URL cannot hold (e.g. "3[:7", fuzz): refused here,
 *  not thrown later as INTERNAL by whoever dials it. */
function parsesAsUrl(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

/** A ReadConsistency the contract knows (0 unspecified, 1 linearizable, 2 serializable). */
export function validateConsistency(consistency: number): void {
  if (consistency !== 0 && consistency !== 1 && consistency !== 2) throw invalidArgument(`unknown read consistency ${consistency}`);
}

/** A revision (uint64 on the wire) that a JavaScript number holds exactly. */
export function revisionOf(revision: bigint, what: string): number {
  if (revision > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument(`${what} ${revision} is out of range`);
  return Number(revision);
}

/** A node name or address in a membership call: non-empty, bounded, valid UTF-8. */
export function validateName(value: string, max: number, what: string): void {
  if (value.length === 0) throw invalidArgument(`${what} must not be empty`);
  if (value.length > max || encoder.encode(value).length > max) throw invalidArgument(`${what} is longer than ${max} bytes`);
  if (badKeyChar.test(value)) throw invalidArgument(`${what} must be valid UTF-8 without NUL`);
}

export function validatePrefix(prefix: string, limits: Limits): void {
  if (prefix.length > 0) validateKey(prefix, limits, "prefix");
}

function validateRequestId(id: string, limits: Limits): string {
  if (encoder.encode(id).length > limits.requestIdBytesMax) {
    throw invalidArgument(`request_id is longer than ${limits.requestIdBytesMax} bytes`);
  }
  return id;
}

function toPrecondition(p: PbPrecondition | undefined): Precondition {
  const c = p?.condition;
  switch (c?.case) {
    case undefined:
      return { kind: "none" };
    case "doesNotExist":
      return c.value ? { kind: "doesNotExist" } : { kind: "none" };
    case "matchesVersion":
      if (c.value === 0n) throw invalidArgument("precondition matches_version must be >= 1 (use does_not_exist for an absent key)");
      if (c.value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument("precondition matches_version is out of range");
      return { kind: "matchesVersion", version: Number(c.value) };
  }
}

/** A new request id when the client sent none: every write is de-duplicated from here on. */
export function ensureRequestId(id: string): string {
  return id !== "" ? id : randomUUID();
}

export function putCommandOf(req: PutRequest, limits: Limits): PutCommand {
  validateKey(req.key, limits);
  if (req.value.length > limits.valueBytesMax) {
    throw resourceExhausted(`value is ${req.value.length} bytes; the limit is ${limits.valueBytesMax} bytes`);
  }
  return {
    kind: "put",
    key: req.key,
    value: req.value,
    precondition: toPrecondition(req.precondition),
    requestId: validateRequestId(req.requestId, limits),
  };
}

export function deleteCommandOf(req: DeleteRequest, limits: Limits): DeleteCommand {
  validateKey(req.key, limits);
  return {
    kind: "delete",
    key: req.key,
    precondition: toPrecondition(req.precondition),
    requestId: validateRequestId(req.requestId, limits),
  };
}

export function listLimitOf(limit: number, limits: Limits): number {
  if (limit === 0) return limits.listPageDefault;
  if (limit > limits.listPageMax) throw invalidArgument(`limit ${limit} is above the maximum page of ${limits.listPageMax}`);
  return limit;
}

// Checks client requests against limits.ts and turns writes into replicated commands. Anything past a
// limit is rejected here, before it reaches the log: INVALID_ARGUMENT for malformed input,
// RESOURCE_EXHAUSTED for an oversized value.

import { randomUUID } from "node:crypto";
import type { DeleteRequest, Precondition as PbPrecondition, PutRequest } from "@omnimeta/proto";
import type { DeleteCommand, Precondition, PutCommand } from "../state-machine/command.ts";
import type { Limits } from "../limits.ts";
import { invalidArgument, resourceExhausted } from "./op-error.ts";

const encoder = new TextEncoder();

export function validateKey(key: string, limits: Limits, what = "key"): void {
  if (key.length === 0) throw invalidArgument(`${what} must not be empty`);
  const bytes = key.length * 3 <= limits.keyBytesMax ? key.length : encoder.encode(key).length;
  if (bytes > limits.keyBytesMax) throw invalidArgument(`${what} is ${bytes} bytes; the limit is ${limits.keyBytesMax} bytes`);
  if (key.includes("\u0000")) throw invalidArgument(`${what} must not contain NUL characters`);
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

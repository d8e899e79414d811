// Runs one history op as one request on one node (a unary RPC, or a request on a Session stream)
// and classifies the outcome the way the checker needs: ok (applied, output known), fail
// (definitely not applied) or info (ambiguous: it may have been applied, or may be later).
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import {
  PreconditionFailureSchema,
  PreconditionSchema,
  ReadConsistency,
  type KeyValue,
  type PreconditionFailure,
  type Precondition as ProtoPrecondition,
} from "@omnimeta/proto";
import type { OpInput, OpOutput, Precondition } from "../linearizability/history.ts";
import type { NodeClient } from "../cluster/node-client.ts";
import type { SessionMux, SessionOp } from "./session-mux.ts";

export type Attempt =
  | { type: "ok"; output: OpOutput }
  | { type: "fail"; output?: OpOutput; error: string }
  | { type: "info"; error: string; neverSent?: boolean };

/** The node refused the connection: this attempt never reached a server, so it had no effect. */
function neverSent(message: string): boolean {
  return message.includes("ECONNREFUSED");
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Errors that prove the request had no effect. Everything else is ambiguous: UNAVAILABLE can come
 * from a leader that lost leadership with the entry still in its log, a forwarding timeout, a reset
 * connection or a deadline can hide an applied write.
 */
const DEFINITE_FAILURES = new Set<Code>([Code.InvalidArgument, Code.ResourceExhausted, Code.PermissionDenied, Code.Unauthenticated, Code.Unimplemented]);

function toProto(pre: Precondition): ProtoPrecondition | undefined {
  if (pre.kind === "none") return undefined;
  return create(PreconditionSchema, { condition: pre.kind === "absent" ? { case: "doesNotExist", value: true } : { case: "matchesVersion", value: BigInt(pre.version) } });
}

/** Maps an error answer (unary or Session) to an attempt. */
export function classifyError(input: OpInput, code: Code, message: string, detail: PreconditionFailure | undefined): Attempt {
  const error = `${Code[code]}: ${message}`;
  if (code === Code.NotFound) return input.f === "get" ? { type: "ok", output: { kind: "absent" } } : { type: "fail", output: { kind: "absent" }, error };
  if (code === Code.FailedPrecondition && input.f !== "get") {
    // Without the structured detail it may be about the node (e.g. removed), not the key: ambiguous.
    if (detail === undefined) return { type: "info", error };
    return { type: "fail", output: { kind: "preconditionFailed", exists: detail.exists, version: Number(detail.currentVersion) }, error };
  }
  if (DEFINITE_FAILURES.has(code)) return { type: "fail", error };
  return neverSent(message) ? { type: "info", error, neverSent: true } : { type: "info", error };
}

/** Runs `input` on one node; with `session`, as a request on that node's shared Session stream. */
export async function executeOp(client: NodeClient, input: OpInput, requestId: string, timeoutMs: number, session?: SessionMux): Promise<Attempt> {
  try {
    if (session !== undefined) return await viaSession(session, input, requestId, timeoutMs);
    return { type: "ok", output: await viaUnary(client, input, requestId, timeoutMs) };
  } catch (e) {
    if (!(e instanceof ConnectError) && session !== undefined) {
      const message = (e as Error).message;
      return neverSent(message) ? { type: "info", error: message, neverSent: true } : { type: "info", error: message };
    }
    const err = ConnectError.from(e);
    return classifyError(input, err.code, err.rawMessage, err.findDetails(PreconditionFailureSchema)[0]);
  }
}

function getOutput(kv: KeyValue | undefined): OpOutput {
  return kv === undefined ? { kind: "absent" } : { kind: "value", value: decoder.decode(kv.value), version: Number(kv.version) };
}

async function viaUnary(client: NodeClient, input: OpInput, requestId: string, timeoutMs: number): Promise<OpOutput> {
  const options = { timeoutMs };
  switch (input.f) {
    case "get":
      return getOutput((await client.metadata.get({ key: input.key, consistency: ReadConsistency.LINEARIZABLE }, options)).kv);
    case "put": {
      const r = await client.metadata.put({ key: input.key, value: encoder.encode(input.value), precondition: toProto(input.pre), requestId }, options);
      return { kind: "written", version: Number(r.version), revision: Number(r.revision) };
    }
    case "delete": {
      const r = await client.metadata.delete({ key: input.key, precondition: toProto(input.pre), requestId }, options);
      return { kind: "deleted", previousVersion: Number(r.previousVersion), revision: Number(r.revision) };
    }
  }
}

function sessionOp(input: OpInput, requestId: string): SessionOp {
  switch (input.f) {
    case "get":
      return { case: "get", value: { key: input.key, consistency: ReadConsistency.LINEARIZABLE } };
    case "put":
      return { case: "put", value: { key: input.key, value: encoder.encode(input.value), precondition: toProto(input.pre), requestId } };
    case "delete":
      return { case: "delete", value: { key: input.key, precondition: toProto(input.pre), requestId } };
  }
}

async function viaSession(session: SessionMux, input: OpInput, requestId: string, timeoutMs: number): Promise<Attempt> {
  const result = await session.call(sessionOp(input, requestId), timeoutMs);
  if (result.case === "error") return classifyError(input, result.value.code as Code, result.value.message, result.value.preconditionFailure);
  if (result.case === "get" && input.f === "get") return { type: "ok", output: getOutput(result.value.kv) };
  if (result.case === "put" && input.f === "put") return { type: "ok", output: { kind: "written", version: Number(result.value.version), revision: Number(result.value.revision) } };
  if (result.case === "delete" && input.f === "delete") return { type: "ok", output: { kind: "deleted", previousVersion: Number(result.value.previousVersion), revision: Number(result.value.revision) } };
  // An answer of the wrong kind says nothing reliable about the op.
  return { type: "info", error: `unexpected session answer ${result.case ?? "(empty)"} to a ${input.f}` };
}

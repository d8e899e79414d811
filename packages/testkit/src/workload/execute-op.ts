// Runs one history op as one RPC on one node and classifies the outcome the way the checker needs:
// ok (applied, output known), fail (definitely not applied) or info (ambiguous: it may apply later).
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { PreconditionFailureSchema, PreconditionSchema, ReadConsistency, type Precondition as ProtoPrecondition } from "@omnimeta/proto";
import type { OpInput, OpOutput, Precondition } from "../linearizability/history.ts";
import type { NodeClient } from "../cluster/node-client.ts";

export type Attempt =
  | { type: "ok"; output: OpOutput }
  | { type: "fail"; output?: OpOutput; error: string }
  | { type: "info"; error: string };

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

function preconditionObservation(e: ConnectError): OpOutput | undefined {
  const [detail] = e.findDetails(PreconditionFailureSchema);
  if (detail === undefined) return undefined;
  return { kind: "preconditionFailed", exists: detail.exists, version: Number(detail.currentVersion) };
}

export async function executeOp(client: NodeClient, input: OpInput, requestId: string, timeoutMs: number): Promise<Attempt> {
  try {
    return { type: "ok", output: await call(client, input, requestId, timeoutMs) };
  } catch (e) {
    const err = ConnectError.from(e);
    const error = `${Code[err.code]}: ${err.rawMessage}`;
    if (err.code === Code.NotFound) return input.f === "get" ? { type: "ok", output: { kind: "absent" } } : { type: "fail", output: { kind: "absent" }, error };
    if (err.code === Code.FailedPrecondition && input.f !== "get") {
      // Without the structured detail it may be about the node (e.g. removed), not the key: ambiguous.
      const output = preconditionObservation(err);
      return output === undefined ? { type: "info", error } : { type: "fail", output, error };
    }
    if (DEFINITE_FAILURES.has(err.code)) return { type: "fail", error };
    return { type: "info", error };
  }
}

async function call(client: NodeClient, input: OpInput, requestId: string, timeoutMs: number): Promise<OpOutput> {
  const options = { timeoutMs };
  switch (input.f) {
    case "get": {
      const r = await client.metadata.get({ key: input.key, consistency: ReadConsistency.LINEARIZABLE }, options);
      if (r.kv === undefined) return { kind: "absent" };
      return { kind: "value", value: decoder.decode(r.kv.value), version: Number(r.kv.version) };
    }
    case "put": {
      const r = await client.metadata.put({ key: input.key, value: encoder.encode(input.value), precondition: toProto(input.pre), requestId }, options);
      return { kind: "written", version: Number(r.version) };
    }
    case "delete": {
      const r = await client.metadata.delete({ key: input.key, precondition: toProto(input.pre), requestId }, options);
      return { kind: "deleted", previousVersion: Number(r.previousVersion) };
    }
  }
}

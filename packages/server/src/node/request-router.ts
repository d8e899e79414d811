// Any node serves any request: validates it, then serves it here (leader, or a serializable read),
// forwards it to the leader over the forwarding Session, or answers UNAVAILABLE with a leader hint.
// Unary handlers and Session streams both go through execute().
// Choices: Get/GetVersion of a missing key and Delete of a missing key are NOT_FOUND; a write without a
// request id gets one here, at the first node it reaches, so that every log entry is identified (waiters
// are keyed by it); only a client that reuses its own id across retries gets at-most-once across them.

import { Code } from "@connectrpc/connect";
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import {
  DeleteResponseSchema,
  GetResponseSchema,
  GetVersionResponseSchema,
  KeyValueSchema,
  ListResponseSchema,
  PutResponseSchema,
  ReadConsistency,
  type KeyValue,
  type SessionRequest,
} from "@omnimeta/proto";
import type { ApplyResult, KeyRecord } from "../state-machine/kv-types.ts";
import type { Command } from "../state-machine/command.ts";
import type { Limits } from "../limits.ts";
import type { ServerMetrics } from "../metrics.ts";
import type { UnsafeFlags } from "../unsafe.ts";
import { OpError, failedPrecondition, invalidArgument, unavailable, type LeaderHintInfo } from "../rpc/op-error.ts";
import { deleteCommandOf, ensureRequestId, listLimitOf, putCommandOf, validateConsistency, validateKey, validatePrefix } from "../rpc/validate.ts";
import type { LeaderForwarder, SessionResult } from "./leader-forwarder.ts";
import type { Replica } from "./replica.ts";
import { UnsafeLaggingView, type ReadView } from "./unsafe-lagging-view.ts";

export type Op = SessionRequest["op"];

export interface RouterContext {
  /** The replica when the node is active, else why it cannot serve. */
  replica(): Replica | string;
  leaderHint(): LeaderHintInfo | undefined;
  forwarder: LeaderForwarder;
  limits: Limits;
  unsafe: UnsafeFlags;
  metrics: ServerMetrics;
}

export class RequestRouter {
  /** Only with unsafe serializable-backwards. */
  private readonly lagging = new UnsafeLaggingView();

  constructor(private readonly ctx: RouterContext) {}

  /** Serves one request; throws OpError. `forwarded`: it came from another node, never forward again. */
  async execute(op: Op, forwarded: boolean): Promise<SessionResult> {
    const method = op.case ?? "empty";
    try {
      const result = await this.route(this.normalise(op), forwarded);
      this.ctx.metrics.countRequest(method, "ok");
      return result;
    } catch (e) {
      const err = OpError.from(e);
      this.ctx.metrics.countRequest(method, Code[err.code] ?? String(err.code));
      throw err;
    }
  }

  /** Validates and fills in the request id of writes (a fresh one per attempt with unsafe no-dedup). */
  private normalise(op: Op): Op {
    const limits = this.ctx.limits;
    const requestId = (id: string): string => (this.ctx.unsafe.noDedup ? randomUUID() : ensureRequestId(id));
    switch (op.case) {
      case "put":
        putCommandOf(op.value, limits);
        return { case: "put", value: { ...op.value, requestId: requestId(op.value.requestId) } };
      case "delete":
        deleteCommandOf(op.value, limits);
        return { case: "delete", value: { ...op.value, requestId: requestId(op.value.requestId) } };
      case "get":
      case "getVersion":
        validateKey(op.value.key, limits);
        validateConsistency(op.value.consistency);
        return op;
      case "list":
        validatePrefix(op.value.prefix, limits);
        listLimitOf(op.value.limit, limits);
        validateConsistency(op.value.consistency);
        if (op.value.pageToken !== "") {
          validateKey(op.value.pageToken, limits, "page_token");
          if (!op.value.pageToken.startsWith(op.value.prefix)) throw invalidArgument("page_token does not belong to this prefix");
        }
        return op;
      case undefined:
        throw invalidArgument("empty request: set one of get, put, delete, list, get_version");
    }
  }

  private async route(op: Op, forwarded: boolean): Promise<SessionResult> {
    const replica = this.ctx.replica();
    if (typeof replica === "string") throw unavailable(replica, this.ctx.leaderHint() ?? { leaderId: 0, leaderAddress: "" });
    const isWrite = op.case === "put" || op.case === "delete";
    const serializable = !isWrite && consistencyOf(op) === ReadConsistency.SERIALIZABLE;
    if (serializable && this.ctx.unsafe.serializableBackwards) return this.readLocal(replica, op, this.lagging.viewFor(replica.machine));
    const unsafeLocal = this.ctx.unsafe.staleReads || (op.case === "list" && this.ctx.unsafe.listStale);
    if (serializable || (!isWrite && unsafeLocal)) return this.readLocal(replica, op);
    if (replica.isLeader()) {
      if (isWrite) return writeResult(op, await replica.propose(this.commandOf(op)));
      await replica.readBarrier();
      return this.readLocal(replica, op);
    }
    const hint = this.ctx.leaderHint();
    if (forwarded) throw unavailable("not the leader", hint);
    // The hint is attached even when empty (leader_id 0), so clients see "no leader yet" as such.
    if (!hint || hint.leaderAddress === "") throw unavailable("no leader is known; retry shortly", hint ?? { leaderId: 0, leaderAddress: "" });
    this.ctx.metrics.forwarded.inc();
    return this.ctx.forwarder.forward(hint.leaderAddress, op);
  }

  private commandOf(op: Op): Command & { requestId: string } {
    if (op.case === "put") return putCommandOf(op.value, this.ctx.limits);
    if (op.case === "delete") return deleteCommandOf(op.value, this.ctx.limits);
    throw new Error(`not a write: ${op.case}`);
  }

  private readLocal(replica: Replica, op: Op, machine: ReadView = replica.machine): SessionResult {
    const revision = BigInt(machine.appliedRevision);
    switch (op.case) {
      case "get": {
        const rec = machine.get(op.value.key);
        if (!rec) throw new OpError(Code.NotFound, `key not found: ${op.value.key}`);
        return { case: "get", value: create(GetResponseSchema, { kv: keyValueOf(rec, false), revision }) };
      }
      case "getVersion": {
        const rec = machine.get(op.value.key);
        if (!rec) throw new OpError(Code.NotFound, `key not found: ${op.value.key}`);
        return { case: "getVersion", value: create(GetVersionResponseSchema, { version: BigInt(rec.version), modRevision: BigInt(rec.modRevision), revision }) };
      }
      case "list": {
        const limit = listLimitOf(op.value.limit, this.ctx.limits);
        const after = op.value.pageToken;
        const { records, more } = machine.list(op.value.prefix, after, limit);
        const kvs = records.map((r) => keyValueOf(r, op.value.keysOnly));
        const nextPageToken = more && records.length > 0 ? records[records.length - 1]!.key : "";
        return { case: "list", value: create(ListResponseSchema, { kvs, nextPageToken, revision }) };
      }
      default:
        throw new Error(`not a read: ${op.case}`);
    }
  }
}

function consistencyOf(op: Op): ReadConsistency {
  return op.case === "get" || op.case === "getVersion" || op.case === "list" ? op.value.consistency : ReadConsistency.UNSPECIFIED;
}

export function keyValueOf(r: KeyRecord, keysOnly: boolean): KeyValue {
  return create(KeyValueSchema, {
    key: r.key,
    value: keysOnly ? new Uint8Array(0) : r.value,
    version: BigInt(r.version),
    createRevision: BigInt(r.createRevision),
    modRevision: BigInt(r.modRevision),
  });
}

function writeResult(op: Op, r: ApplyResult): SessionResult {
  switch (r.kind) {
    case "ok":
      if (op.case === "put") return { case: "put", value: create(PutResponseSchema, { version: BigInt(r.version), revision: BigInt(r.revision) }) };
      return { case: "delete", value: create(DeleteResponseSchema, { revision: BigInt(r.revision), previousVersion: BigInt(r.previousVersion) }) };
    case "preconditionFailed":
      throw failedPrecondition(
        r.exists
          ? `precondition failed for key "${r.key}": its current version is ${r.currentVersion}`
          : `precondition failed for key "${r.key}": it does not exist`,
        { key: r.key, exists: r.exists, currentVersion: r.currentVersion },
      );
    case "notFound":
      throw new OpError(Code.NotFound, `key not found: ${r.key}`);
    case "requestIdReused":
      throw invalidArgument(`request_id "${r.requestId}" was first used for another operation or key; a retry must repeat its request, a new request needs a new id`);
    case "applied":
      throw new Error(`unexpected apply result for a ${op.case}`);
  }
}

// OmnimetaClient: the typed, async API over every MetadataService and ClusterService RPC.
// Key-value calls ride the per-endpoint Session stream (mode "session", the default) or unary
// calls (mode "unary", for one-shot tools); both run in the same retry loop (retry.ts).

import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  AddMemberRequestSchema, DeleteRequestSchema, GetRequestSchema, GetVersionRequestSchema, ListRequestSchema,
  PutRequestSchema, ReadConsistency, RemoveMemberRequestSchema, WatchRequestSchema,
} from "@omnimeta/proto";
import type {
  AddMemberResponse, DeleteResponse, GetResponse, GetVersionResponse, ListMembersResponse, ListResponse,
  Precondition, ProvisionResponse, PutResponse, RemoveMemberResponse, StatusResponse, WatchEvent,
  WatchLeaderResponse,
} from "@omnimeta/proto";
import { Connections } from "./connections.ts";
import type { ClientTls } from "./tls.ts";
import type { Connection } from "./connections.ts";
import { Deadline } from "./deadline.ts";
import { Endpoints } from "./endpoints.ts";
import { DeadlineExceededError, errorFromConnect, InvalidArgumentError, ServerError } from "./errors.ts";
import { limits } from "./limits.ts";
import { withRetry } from "./retry.ts";
import type { Attempt, OperationOptions, RetryPolicy } from "./retry.ts";
import type { SessionOp, SessionResult } from "./session.ts";
import { readSnapshotInfo, type SnapshotStream } from "./snapshot.ts";
import { dedupedLeaderStream, resilientStream, resumingWatch } from "./watch.ts";

export type { OperationOptions } from "./retry.ts";

export interface ClientOptions {
  /** One or more addresses (http://host:port, or https://host:port for TLS); a comma-separated string is accepted. */
  endpoints: string | readonly string[];
  /** Default deadline of one operation, all retries included. */
  timeoutMs?: number;
  /** How key-value calls travel: pipelined on a Session stream, or one unary call each. */
  mode?: "session" | "unary";
  /** Learn the other members' addresses and the leader from ListMembers (default true). */
  discover?: boolean;
  /** For https:// endpoints: the CA to trust, and a client certificate and key for mutual TLS (tlsFromFiles reads them). */
  tls?: ClientTls;
  /** Bearer token sent on every call (authorization: Bearer <token>), Session streams and watches included:
   *  the server's --auth-token-file token, or its --admin-token-file token for Provision and membership changes. */
  token?: string;
}

export interface ReadOptions extends OperationOptions {
  /** "linearizable" (default) or "serializable" (served locally, may be stale). */
  consistency?: "linearizable" | "serializable";
}

export interface WriteOptions extends OperationOptions {
  /** Apply only if the key exists with exactly this version. */
  ifVersion?: bigint | number;
  /** Apply only if the key does not exist. */
  ifAbsent?: boolean;
  /** The write's idempotency key; generated (crypto.randomUUID) when absent, and kept across retries. */
  requestId?: string;
}

export interface ListOptions extends ReadOptions {
  limit?: number;
  pageToken?: string;
  keysOnly?: boolean;
}

export interface WatchOptions {
  /** Watch every key starting with `key`. */
  prefix?: boolean;
  /** First revision to deliver; default: changes after the revision current when the watch starts.
   *  Either way, the watch first makes one linearizable read, bounded by the client's timeout. A revision
   *  older than every node's watch history throws WatchCompactedError (errors.ts says how to resume). */
  startRevision?: bigint | number;
  signal?: AbortSignal;
}

type ResultOf<K extends SessionOp["case"]> = Extract<SessionResult, { case: K }>["value"];

export class OmnimetaClient {
  private readonly endpointSet: Endpoints;
  private readonly connections: Connections;
  private readonly timeoutMs: number;
  private readonly mode: "session" | "unary";
  private readonly discover: boolean;
  private discovered = false;
  private discovering: Promise<void> | undefined;

  constructor(options: ClientOptions) {
    const seeds = typeof options.endpoints === "string" ? options.endpoints.split(",") : options.endpoints;
    this.endpointSet = new Endpoints(seeds.filter((s) => s.trim() !== ""));
    this.timeoutMs = options.timeoutMs ?? limits.operationTimeoutMsDefault;
    this.mode = options.mode ?? "session";
    this.discover = options.discover ?? true;
    this.connections = new Connections(options.tls, options.token);
  }

  /** Every address known so far (seeds, then learnt members). */
  endpoints(): readonly string[] {
    return this.endpointSet.all();
  }

  /** The leader's address, when known. */
  leader(): string | undefined {
    return this.endpointSet.leader();
  }

  // ---- MetadataService -------------------------------------------------------------------

  async get(key: string, o: ReadOptions = {}): Promise<GetResponse> {
    const req = create(GetRequestSchema, { key, consistency: consistencyOf(o.consistency) });
    return this.kv({ case: "get", value: req }, "idempotent", o, (c, a) => c.metadata.get(req, callOptions(a)));
  }

  async getVersion(key: string, o: ReadOptions = {}): Promise<GetVersionResponse> {
    const req = create(GetVersionRequestSchema, { key, consistency: consistencyOf(o.consistency) });
    return this.kv({ case: "getVersion", value: req }, "idempotent", o, (c, a) => c.metadata.getVersion(req, callOptions(a)));
  }

  async put(key: string, value: Uint8Array | string, o: WriteOptions = {}): Promise<PutResponse> {
    const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
    const req = create(PutRequestSchema, { key, value: bytes, precondition: preconditionOf(o), requestId: o.requestId ?? crypto.randomUUID() });
    return this.kv({ case: "put", value: req }, "idempotent", o, (c, a) => c.metadata.put(req, callOptions(a)));
  }

  async delete(key: string, o: WriteOptions = {}): Promise<DeleteResponse> {
    const req = create(DeleteRequestSchema, { key, precondition: preconditionOf(o), requestId: o.requestId ?? crypto.randomUUID() });
    return this.kv({ case: "delete", value: req }, "idempotent", o, (c, a) => c.metadata.delete(req, callOptions(a)));
  }

  /** One page of keys under `prefix`; follow `nextPageToken` for the rest. */
  async list(prefix: string, o: ListOptions = {}): Promise<ListResponse> {
    const req = create(ListRequestSchema, {
      prefix, limit: o.limit ?? 0, pageToken: o.pageToken ?? "", keysOnly: o.keysOnly ?? false,
      consistency: consistencyOf(o.consistency),
    });
    return this.kv({ case: "list", value: req }, "idempotent", o, (c, a) => c.metadata.list(req, callOptions(a)));
  }

  /**
   * Changes to `key` (or under it, with `prefix`) as an async iterator. It reconnects on failure
   * and resumes after the last revision it delivered; it ends when `signal` aborts.
   */
  async *watch(key: string, o: WatchOptions = {}): AsyncGenerator<WatchEvent> {
    // A linearizable read first: it fails within the client's deadline when nothing is reachable,
    // and gives the revision to start from, so that no change between "now" and the stream is lost.
    const page = await this.list(key, { limit: 1, keysOnly: true, signal: o.signal });
    const given = o.startRevision === undefined ? 0n : BigInt(o.startRevision);
    const start = given > 0n ? given : page.revision + 1n;
    const open = (a: { address: string; signal: AbortSignal }, from: bigint) =>
      mapStream(this.connections.get(a.address).metadata.watch(
        create(WatchRequestSchema, { key, prefix: o.prefix ?? false, startRevision: from }), { signal: a.signal }),
        (r) => r.events);
    yield* resumingWatch(this.endpointSet, open, start, o.signal);
  }

  // ---- ClusterService --------------------------------------------------------------------

  /**
   * Provisions the cluster on one node: `address`, else the first endpoint. Never another one: a
   * down first node must not make a different node start a cluster of its own. A node started with
   * --join refuses (PreconditionFailedError) while one of those peers cannot be reached or one is a
   * member already; `forceNewCluster` founds a new cluster although some peers cannot be reached.
   */
  async provision(o: OperationOptions & { address?: string; forceNewCluster?: boolean } = {}): Promise<ProvisionResponse> {
    const target = new Endpoints([o.address ?? this.endpointSet.all()[0]]);
    return withRetry(target, "idempotent", { ...o, defaultTimeoutMs: this.timeoutMs },
      (a) => this.connections.get(a.address).cluster.provision({ forceNewCluster: o.forceNewCluster ?? false }, callOptions(a)));
  }

  /** The status of whichever node answers (the leader when known). */
  async status(o: OperationOptions = {}): Promise<StatusResponse> {
    return this.run("idempotent", o, (c, a) => c.cluster.status({}, callOptions(a)));
  }

  /** The status of one node, asked once (no retries, no other node): for fan-out views. */
  async statusOf(address: string, o: OperationOptions = {}): Promise<StatusResponse> {
    const deadline = new Deadline(o.timeoutMs ?? this.timeoutMs, o.signal);
    try {
      return await this.connections.get(address).cluster.status({}, { signal: deadline.signal, timeoutMs: Math.max(1, Math.floor(deadline.remainingMs())) });
    } catch (err) {
      if (deadline.expired() && !deadline.callerAborted()) {
        throw new DeadlineExceededError(Code.DeadlineExceeded, `no answer within ${deadline.timeoutMs} ms`, { cause: err });
      }
      throw errorFromConnect(err);
    }
  }

  async listMembers(o: OperationOptions = {}): Promise<ListMembersResponse> {
    const res = await this.run("idempotent", o, (c, a) => c.cluster.listMembers({}, callOptions(a)), false);
    this.endpointSet.learn(res.configuration?.members ?? [], res.leaderId);
    this.discovered = true;
    return res;
  }

  async addMember(address: string, o: OperationOptions = {}): Promise<AddMemberResponse> {
    const req = create(AddMemberRequestSchema, { address });
    return this.run("at-most-once", o, (c, a) => c.cluster.addMember(req, callOptions(a)));
  }

  /** Removes a member by node id (bigint/number) or by name (string). */
  async removeMember(node: bigint | number | string, o: OperationOptions = {}): Promise<RemoveMemberResponse> {
    const req = typeof node === "string"
      ? create(RemoveMemberRequestSchema, { name: node })
      : create(RemoveMemberRequestSchema, { nodeId: BigInt(node) });
    return this.run("at-most-once", o, (c, a) => c.cluster.removeMember(req, callOptions(a)));
  }

  /** The current leader at once, then one item per leadership change; reconnects on failure. */
  watchLeader(o: { signal?: AbortSignal } = {}): AsyncGenerator<WatchLeaderResponse> {
    const stream = resilientStream(
      this.endpointSet,
      (a) => this.connections.get(a.address).cluster.watchLeader({}, { signal: a.signal }),
      o.signal,
    );
    return dedupedLeaderStream(stream);
  }

  /**
   * A snapshot of one node's applied state (ClusterService.SaveSnapshot): `address`, else the leader (learnt
   * first), else whichever node answers. Opening is retried like a read until the first chunk arrives within
   * the deadline (the node copies its database first); the stream itself is not retried, since a cut
   * snapshot is of no use: its chunks fail and the caller starts again.
   */
  async saveSnapshot(o: OperationOptions & { address?: string } = {}): Promise<SnapshotStream> {
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    const opening = new Deadline(timeoutMs, o.signal);
    if (o.address === undefined && !this.discovered) {
      await this.listMembers({ timeoutMs: Math.min(timeoutMs, limits.attemptTimeoutMsMax), signal: o.signal }).catch(() => undefined);
    }
    const target = o.address === undefined ? this.endpointSet : new Endpoints([o.address]);
    return withRetry(target, "idempotent", { timeoutMs: opening.remainingMs(), signal: o.signal, defaultTimeoutMs: timeoutMs }, async (a) => {
      // The attempt may take the whole deadline to its first chunk (the copy of a large database), not a slice of it.
      const stream = new AbortController();
      const abort = (): void => stream.abort();
      opening.signal.addEventListener("abort", abort);
      o.signal?.addEventListener("abort", abort);
      const responses = this.connections.get(a.address).cluster.saveSnapshot({}, { signal: stream.signal })[Symbol.asyncIterator]();
      try {
        const first = await responses.next();
        if (first.done) throw new ServerError(Code.Internal, `${a.address} ended the snapshot stream before its first chunk`);
        const info = readSnapshotInfo(first.value.chunk);
        if (info === undefined) throw new ServerError(Code.Internal, `${a.address} sent a first snapshot chunk without the whole header`);
        opening.signal.removeEventListener("abort", abort);
        return { address: a.address, info, chunks: snapshotChunks(first.value.chunk, responses, () => (o.signal?.removeEventListener("abort", abort), stream.abort())) };
      } catch (e) {
        abort();
        opening.signal.removeEventListener("abort", abort);
        o.signal?.removeEventListener("abort", abort);
        throw e;
      }
    });
  }

  /** Closes every connection and Session stream; pending calls fail. */
  close(): void {
    this.connections.close();
  }

  // ---- plumbing ----------------------------------------------------------------------------

  private async kv<K extends SessionOp["case"]>(
    op: Extract<SessionOp, { case: K }>,
    policy: RetryPolicy,
    o: OperationOptions,
    unary: (c: Connection, a: Attempt) => Promise<ResultOf<K>>,
  ): Promise<ResultOf<K>> {
    if (this.mode === "unary") return this.run(policy, o, unary);
    return this.run(policy, o, async (_c, a) => {
      const result = await this.connections.session(a.address).call(op, a.signal);
      if (result.case !== op.case) throw new ServerError(Code.Internal, `session answered ${result.case} to ${op.case}`);
      return result.value as ResultOf<K>;
    });
  }

  private async run<T>(policy: RetryPolicy, o: OperationOptions, call: (c: Connection, a: Attempt) => Promise<T>, discoverAfter = true): Promise<T> {
    const result = await withRetry(
      this.endpointSet, policy, { ...o, defaultTimeoutMs: this.timeoutMs },
      (a) => call(this.connections.get(a.address), a),
      { onRoundFailed: () => this.refreshMembers() },
    );
    if (discoverAfter && !this.discovered) this.refreshMembers();
    return result;
  }

  /** Learns members and leader in the background; at most one refresh at a time. */
  private refreshMembers(): void {
    if (!this.discover || this.discovering) return;
    this.discovered = true;
    this.discovering = this.listMembers({ timeoutMs: limits.attemptTimeoutMsMax })
      .then(() => undefined, () => undefined)
      .finally(() => (this.discovering = undefined));
  }
}

function callOptions(a: Attempt): { signal: AbortSignal; timeoutMs: number } {
  return { signal: a.signal, timeoutMs: Math.max(1, Math.floor(a.timeoutMs)) };
}

function consistencyOf(c: ReadOptions["consistency"]): ReadConsistency {
  return c === "serializable" ? ReadConsistency.SERIALIZABLE : ReadConsistency.LINEARIZABLE;
}

function preconditionOf(o: WriteOptions): Precondition | undefined {
  if (o.ifAbsent && o.ifVersion !== undefined) {
    throw new InvalidArgumentError(Code.InvalidArgument, "ifAbsent and ifVersion exclude each other");
  }
  if (o.ifAbsent) return { $typeName: "omnimeta.v1.Precondition", condition: { case: "doesNotExist", value: true } };
  if (o.ifVersion !== undefined) {
    return { $typeName: "omnimeta.v1.Precondition", condition: { case: "matchesVersion", value: BigInt(o.ifVersion) } };
  }
  return undefined;
}

/** The chunks of a snapshot stream whose first chunk was read already; connection errors become typed errors. */
async function* snapshotChunks(first: Uint8Array, rest: AsyncIterator<{ chunk: Uint8Array }>, done: () => void): AsyncGenerator<Uint8Array> {
  try {
    yield first;
    for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value.chunk;
  } catch (e) {
    throw errorFromConnect(e);
  } finally {
    done();
  }
}

async function* mapStream<T, U>(source: AsyncIterable<T>, f: (t: T) => U): AsyncGenerator<U> {
  for await (const item of source) yield f(item);
}

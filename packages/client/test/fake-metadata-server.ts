// An in-process MetadataService double for the client's unit tests: a shared in-memory store with
// request-id de-duplication, plus switches that inject the failures a real cluster produces
// (UNAVAILABLE with or without a leader hint, connections dropped mid-flight). The integration
// tests run the same client against real metad processes.

import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  EventType, KeyValueSchema, LeaderHintSchema, MetadataService, PreconditionFailureSchema, SessionErrorSchema,
} from "@omnimeta/proto";
import type { KeyValue, Precondition, PutRequest, PutResponse, SessionRequest, SessionResponse, WatchEvent } from "@omnimeta/proto";

/** The replicated state all fake nodes share. */
export class FakeStore {
  revision = 0n;
  readonly kvs = new Map<string, KeyValue>();
  readonly applied = new Map<string, PutResponse>();
  /** Every request id a put arrived with, in arrival order (retries included). */
  readonly putRequestIds: string[] = [];
  readonly history: WatchEvent[] = [];
  applyCount = 0;

  put(req: PutRequest): PutResponse {
    this.putRequestIds.push(req.requestId);
    const previous = this.applied.get(req.requestId);
    if (previous) return previous;
    const current = this.kvs.get(req.key);
    check(req.key, req.precondition, current);
    this.applyCount++;
    this.revision++;
    const kv = create(KeyValueSchema, {
      key: req.key, value: req.value, version: (current?.version ?? 0n) + 1n,
      createRevision: current?.createRevision ?? this.revision, modRevision: this.revision,
    });
    this.kvs.set(req.key, kv);
    this.history.push({ $typeName: "omnimeta.v1.WatchEvent", type: EventType.PUT, kv, revision: this.revision });
    const res: PutResponse = { $typeName: "omnimeta.v1.PutResponse", version: kv.version, revision: this.revision };
    this.applied.set(req.requestId, res);
    return res;
  }
}

function check(key: string, p: Precondition | undefined, current: KeyValue | undefined): void {
  const c = p?.condition;
  const ok = c === undefined || c.case === undefined ? true
    : c.case === "doesNotExist" ? current === undefined
    : current !== undefined && current.version === c.value;
  if (!ok) {
    throw new ConnectError(`precondition failed on ${key}`, Code.FailedPrecondition, undefined, [{
      desc: PreconditionFailureSchema, value: { key, exists: current !== undefined, currentVersion: current?.version ?? 0n },
    }]);
  }
}

export interface FakeFaults {
  /** Answer every call UNAVAILABLE with this leader hint. */
  leaderHint?: string;
  /** Fail this many puts UNAVAILABLE (no hint) after they were applied (the answer is "lost"). */
  losePutAnswers?: number;
  /** Drop every connection after receiving this many Session requests (without answering them). */
  dropConnectionAfterSessionRequests?: number;
  /** End each Watch stream with a dropped connection after this many events. */
  dropWatchAfterEvents?: number;
}

export class FakeNode {
  address = "";
  readonly faults: FakeFaults = {};
  sessionRequestCount = 0;
  sessionStreamCount = 0;
  watchStarts: bigint[] = [];
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(readonly store: FakeStore) {
    this.server = http2.createServer(connectNodeAdapter({ routes: (r) => this.routes(r) }));
    this.server.on("session", (s) => {
      this.sessions.add(s);
      s.on("close", () => this.sessions.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.address = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  dropConnections(): void {
    for (const s of this.sessions) s.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private hintCheck(): void {
    if (this.faults.leaderHint !== undefined) {
      throw new ConnectError("not the leader", Code.Unavailable, undefined, [{
        desc: LeaderHintSchema, value: { leaderId: 1n, leaderAddress: this.faults.leaderHint },
      }]);
    }
  }

  private put(req: PutRequest): PutResponse {
    this.hintCheck();
    const res = this.store.put(req);
    if ((this.faults.losePutAnswers ?? 0) > 0) {
      this.faults.losePutAnswers!--;
      throw new ConnectError("leadership lost", Code.Unavailable);
    }
    return res;
  }

  private get(key: string) {
    this.hintCheck();
    const kv = this.store.kvs.get(key);
    if (!kv) throw new ConnectError(`key ${key} not found`, Code.NotFound);
    return { kv, revision: this.store.revision };
  }

  private routes(router: ConnectRouter): void {
    router.service(MetadataService, {
      get: (req) => this.get(req.key),
      put: (req) => this.put(req),
      list: (req) => ({ kvs: [...this.store.kvs.values()].filter((kv) => kv.key.startsWith(req.prefix)), revision: this.store.revision }),
      watch: (req, ctx) => this.watch(req.key, req.prefix, req.startRevision, ctx.signal),
      session: (reqs) => this.session(reqs),
    });
  }

  private async *watch(key: string, prefix: boolean, start: bigint, signal: AbortSignal) {
    this.watchStarts.push(start);
    let next = start;
    let sent = 0;
    while (!signal.aborted) {
      const due = this.store.history.filter((e) => e.revision >= next && (prefix ? e.kv!.key.startsWith(key) : e.kv!.key === key));
      for (const e of due) {
        if (this.faults.dropWatchAfterEvents !== undefined && sent >= this.faults.dropWatchAfterEvents) {
          this.faults.dropWatchAfterEvents = undefined;
          this.dropConnections();
          return;
        }
        next = e.revision + 1n;
        sent++;
        yield { events: [e] };
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private async *session(reqs: AsyncIterable<SessionRequest>): AsyncGenerator<SessionResponse> {
    this.sessionStreamCount++;
    for await (const req of reqs) {
      this.sessionRequestCount++;
      const drop = this.faults.dropConnectionAfterSessionRequests;
      if (drop !== undefined && this.sessionRequestCount >= drop) {
        this.faults.dropConnectionAfterSessionRequests = undefined;
        if (req.op.case === "put") this.store.put(req.op.value); // applied, but the answer never leaves
        this.dropConnections();
        return;
      }
      yield this.answer(req);
    }
  }

  private answer(req: SessionRequest): SessionResponse {
    const base = { $typeName: "omnimeta.v1.SessionResponse" as const, id: req.id };
    try {
      if (req.op.case === "put") return { ...base, result: { case: "put", value: this.put(req.op.value) } };
      if (req.op.case === "get") {
        const r = this.get(req.op.value.key);
        return { ...base, result: { case: "get", value: { $typeName: "omnimeta.v1.GetResponse", ...r } } };
      }
      throw new ConnectError(`unsupported ${req.op.case}`, Code.Unimplemented);
    } catch (err) {
      const ce = ConnectError.from(err);
      const hint = ce.findDetails(LeaderHintSchema)[0];
      const pf = ce.findDetails(PreconditionFailureSchema)[0];
      return { ...base, result: { case: "error", value: create(SessionErrorSchema, { code: ce.code, message: ce.rawMessage, leaderHint: hint, preconditionFailure: pf }) } };
    }
  }
}

// MetadataService handlers: thin adapters from Connect calls to the RequestRouter. Session pipelines
// many requests on one stream, answering each as it completes (any order), with bounded in-flight work.

import { Code, type ServiceImpl, type HandlerContext } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import {
  EventType,
  MetadataService,
  SessionResponseSchema,
  WatchEventSchema,
  type SessionRequest,
  type SessionResponse,
} from "@omnimeta/proto";
import { AsyncQueue } from "../peer/async-queue.ts";
import { FORWARDED_HEADER, type SessionResult } from "../node/leader-forwarder.ts";
import { keyValueOf, type Op, type RequestRouter } from "../node/request-router.ts";
import type { WatchHub } from "../node/watch-hub.ts";
import type { Limits } from "../limits.ts";
import { OpError } from "./op-error.ts";
import { revisionOf, validateKey } from "./validate.ts";

export interface MetadataServiceDeps {
  router: RequestRouter;
  watches: () => WatchHub | string;
  limits: Limits;
}

export function metadataService(deps: MetadataServiceDeps): ServiceImpl<typeof MetadataService> {
  const { router, limits } = deps;
  const unary = async <C extends NonNullable<Op["case"]>>(op: Op & { case: C }, ctx: HandlerContext) => {
    try {
      const r = await router.execute(op, isForwarded(ctx));
      if (r.case !== op.case) throw new Error(`answer ${r.case} to a ${op.case}`);
      return r.value as Extract<SessionResult, { case: C }>["value"];
    } catch (e) {
      throw OpError.from(e).toConnectError();
    }
  };
  return {
    get: (req, ctx) => unary({ case: "get", value: req }, ctx),
    getVersion: (req, ctx) => unary({ case: "getVersion", value: req }, ctx),
    put: (req, ctx) => unary({ case: "put", value: req }, ctx),
    delete: (req, ctx) => unary({ case: "delete", value: req }, ctx),
    list: (req, ctx) => unary({ case: "list", value: req }, ctx),
    async *watch(req, ctx) {
      try {
        if (!req.prefix || req.key !== "") validateKey(req.key, limits);
        const hub = deps.watches();
        if (typeof hub === "string") throw new OpError(Code.Unavailable, hub);
        if (hub.count >= limits.watchersMax) throw new OpError(Code.ResourceExhausted, `this node serves ${limits.watchersMax} watches already; watch through another node or later`);
        const filter = { key: req.key, prefix: req.prefix };
        for await (const events of hub.watch(filter, revisionOf(req.startRevision, "start_revision"), ctx.signal)) {
          yield {
            events: events.map((e) =>
              create(WatchEventSchema, {
                type: e.type === "put" ? EventType.PUT : EventType.DELETE,
                kv: keyValueOf(e.kv, e.type === "delete"),
                revision: BigInt(e.revision),
              }),
            ),
          };
        }
      } catch (e) {
        throw OpError.from(e).toConnectError();
      }
    },
    session: (requests, ctx) => runSession(requests, ctx, router, limits),
  };
}

function isForwarded(ctx: HandlerContext): boolean {
  return ctx.requestHeader.get(FORWARDED_HEADER) === "1";
}

/** Reads requests while fewer than sessionInflightMax are in flight; yields answers as they complete. */
async function* runSession(
  requests: AsyncIterable<SessionRequest>,
  ctx: HandlerContext,
  router: RequestRouter,
  limits: Limits,
): AsyncGenerator<SessionResponse> {
  const out = new AsyncQueue<SessionResponse>(Number.MAX_SAFE_INTEGER);
  const forwarded = isForwarded(ctx);
  let inflight = 0;
  let inputDone = false;
  let slot: (() => void) | undefined;
  const finish = (id: bigint, result: SessionResponse["result"]): void => {
    out.push(create(SessionResponseSchema, { id, result }));
    inflight--;
    if (slot) {
      const s = slot;
      slot = undefined;
      s();
    }
    if (inputDone && inflight === 0) out.end();
  };
  const reader = (async () => {
    try {
      for await (const req of requests) {
        inflight++;
        router.execute(req.op, forwarded).then(
          (result) => finish(req.id, result),
          (e: unknown) => finish(req.id, { case: "error", value: OpError.from(e).toSessionError() }),
        );
        if (inflight >= limits.sessionInflightMax) await new Promise<void>((r) => (slot = r));
      }
    } catch {
      // The client went away; answers still in flight are dropped with the stream.
    }
    inputDone = true;
    if (inflight === 0) out.end();
  })();
  try {
    yield* out;
  } finally {
    out.end();
    void reader;
  }
}

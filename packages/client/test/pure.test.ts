// The client's pure pieces: the backoff schedule, the endpoint/leader tracker, and the mapping
// from Connect errors (unary and Session) to typed errors.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { LeaderHintSchema, PreconditionFailureSchema, SessionErrorSchema, WatchCompactedSchema } from "@omnimeta/proto";
import {
  backoffDelayMs, DeadlineExceededError, Endpoints, errorFromConnect, errorFromSession, InvalidArgumentError,
  NotFoundError, PreconditionFailedError, ResourceExhaustedError, ServerError, UnavailableError, WatchCompactedError,
} from "../src/index.ts";
import { withRetry } from "../src/retry.ts";
import { resilientStream } from "../src/watch.ts";

const compacted = (oldest: bigint) => new ConnectError("revision 1 is compacted", Code.OutOfRange, undefined, [
  { desc: WatchCompactedSchema, value: { requestedRevision: 1n, oldestRetainedRevision: oldest, currentRevision: 90n } },
]);

describe("backoff", () => {
  it("doubles the ceiling per retry, keeps at least half of it, and caps at the maximum", () => {
    const low = (n: number) => backoffDelayMs(n, { baseMs: 10, maxMs: 1000, random: () => 0 });
    const high = (n: number) => backoffDelayMs(n, { baseMs: 10, maxMs: 1000, random: () => 0.999999 });
    assert.deepEqual([0, 1, 2, 3].map(low), [5, 10, 20, 40]);
    assert.ok(Math.abs(high(2) - 40) < 0.001);
    assert.equal(low(20), 500);
    assert.ok(high(50) <= 1000);
  });
});

describe("endpoints", () => {
  it("round-robins on failures and prefers a hinted leader until it fails", () => {
    const e = new Endpoints(["127.0.0.1:1", "http://127.0.0.1:2/"]);
    assert.deepEqual(e.all(), ["http://127.0.0.1:1", "http://127.0.0.1:2"]);
    assert.equal(e.preferred(), "http://127.0.0.1:1");
    e.markFailed("http://127.0.0.1:1");
    assert.equal(e.preferred(), "http://127.0.0.1:2");
    assert.equal(e.setLeader("http://127.0.0.1:3"), true);
    assert.equal(e.setLeader("http://127.0.0.1:3"), false);
    assert.equal(e.preferred(), "http://127.0.0.1:3");
    assert.equal(e.all().length, 3);
    e.markFailed("http://127.0.0.1:3");
    assert.equal(e.leader(), undefined);
    assert.equal(e.preferred(), "http://127.0.0.1:1");
  });

  it("learns members and the leader from a membership answer", () => {
    const e = new Endpoints(["http://a:1"]);
    e.learn([{ nodeId: 1n, address: "http://a:1" }, { nodeId: 2n, address: "http://b:2" }], 2n);
    assert.deepEqual(e.all(), ["http://a:1", "http://b:2"]);
    assert.equal(e.leader(), "http://b:2");
  });
});

describe("error mapping", () => {
  it("turns FAILED_PRECONDITION with its detail into PreconditionFailedError with the current version", () => {
    const ce = new ConnectError("version mismatch", Code.FailedPrecondition, undefined, [
      { desc: PreconditionFailureSchema, value: { key: "k", exists: true, currentVersion: 7n } },
    ]);
    const err = errorFromConnect(ce);
    assert.ok(err instanceof PreconditionFailedError);
    assert.equal(err.currentVersion, 7n);
    assert.equal(err.exists, true);
    assert.equal(err.key, "k");
    assert.equal(err.codeName, "failed_precondition");
  });

  it("turns UNAVAILABLE with a LeaderHint into UnavailableError carrying the hint", () => {
    const ce = new ConnectError("not leader", Code.Unavailable, undefined, [
      { desc: LeaderHintSchema, value: { leaderId: 2n, leaderAddress: "http://x:2" } },
    ]);
    const err = errorFromConnect(ce);
    assert.ok(err instanceof UnavailableError);
    assert.equal(err.kind, "server");
    assert.deepEqual(err.leaderHint, { leaderId: 2n, leaderAddress: "http://x:2" });
  });

  it("treats refused connections and reset streams as unavailable, not as server errors", () => {
    const refused = errorFromConnect(new ConnectError("connect ECONNREFUSED", Code.Unavailable, undefined, undefined,
      Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })));
    assert.ok(refused instanceof UnavailableError && refused.kind === "connect");
    const reset = errorFromConnect(new ConnectError("read ECONNRESET", Code.Aborted, undefined, undefined,
      Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })));
    assert.ok(reset instanceof UnavailableError && reset.kind === "connection-lost");
    const rst = errorFromConnect(new ConnectError("http/2 stream closed with error code INTERNAL_ERROR (0x2)", Code.Internal));
    assert.ok(rst instanceof UnavailableError && rst.kind === "connection-lost");
    const aborted = errorFromConnect(new ConnectError("conflict", Code.Aborted));
    assert.ok(aborted instanceof ServerError && aborted.code === Code.Aborted);
  });

  it("turns OUT_OF_RANGE with a WatchCompacted detail into WatchCompactedError with the oldest revision, and without it into InvalidArgumentError", () => {
    const err = errorFromConnect(compacted(40n));
    assert.ok(err instanceof WatchCompactedError);
    assert.equal(err.oldestRevision, 40n);
    assert.equal(err.requestedRevision, 1n);
    assert.equal(err.currentRevision, 90n);
    assert.equal(err.codeName, "out_of_range");
    assert.ok(errorFromConnect(new ConnectError("bad range", Code.OutOfRange)) instanceof InvalidArgumentError);
  });

  it("maps every other code to its own class, the same way for unary and Session errors", () => {
    const cases: [Code, Function][] = [
      [Code.NotFound, NotFoundError], [Code.InvalidArgument, InvalidArgumentError],
      [Code.ResourceExhausted, ResourceExhaustedError], [Code.DeadlineExceeded, DeadlineExceededError],
      [Code.Internal, ServerError], [Code.Unimplemented, ServerError],
    ];
    for (const [code, cls] of cases) {
      assert.ok(errorFromConnect(new ConnectError("x", code)) instanceof cls, Code[code]);
      assert.ok(errorFromSession(create(SessionErrorSchema, { code, message: "x" })) instanceof cls, Code[code]);
    }
    const se = errorFromSession(create(SessionErrorSchema, {
      code: Code.FailedPrecondition, message: "m", preconditionFailure: { key: "a", exists: false, currentVersion: 0n },
    }));
    assert.ok(se instanceof PreconditionFailedError && se.exists === false);
  });
});

describe("watch stream", () => {
  async function collect(endpoints: Endpoints, answers: Record<string, bigint | "events">): Promise<{ items: string[]; tried: string[] }> {
    const tried: string[] = [];
    const items: string[] = [];
    const stream = resilientStream(endpoints, ({ address }) => (async function* () {
      tried.push(address);
      const answer = answers[address];
      if (answer !== "events") throw compacted(answer!);
      yield `event from ${address}`;
    })(), undefined);
    for await (const item of stream) {
      items.push(item);
      break;
    }
    return { items, tried };
  }

  it("moves on to the next node when one answers WatchCompacted, since watch history is per node", async () => {
    const endpoints = new Endpoints(["http://a", "http://b", "http://c"]);
    endpoints.setLeader("http://b");
    const r = await collect(endpoints, { "http://a": "events", "http://b": 50n, "http://c": 60n });
    assert.deepEqual(r.tried, ["http://b", "http://c", "http://a"]);
    assert.deepEqual(r.items, ["event from http://a"]);
  });

  it("throws WatchCompactedError once every node answered it", async () => {
    const endpoints = new Endpoints(["http://a", "http://b"]);
    await assert.rejects(collect(endpoints, { "http://a": 50n, "http://b": 60n }), (e: unknown) => e instanceof WatchCompactedError && e.oldestRevision === 60n);
  });
});

describe("retry loop", () => {
  const unavailable = (hint?: string) => new ConnectError("no", Code.Unavailable, undefined,
    hint ? [{ desc: LeaderHintSchema, value: { leaderId: 9n, leaderAddress: hint } }] : undefined);
  const options = { timeoutMs: 2000, defaultTimeoutMs: 2000 };

  it("re-sends an idempotent call to the next endpoint after a bare UNAVAILABLE, and to a hinted leader", async () => {
    const endpoints = new Endpoints(["http://a", "http://b"]);
    const tried: string[] = [];
    const result = await withRetry(endpoints, "idempotent", options, async ({ address }) => {
      tried.push(address);
      if (address === "http://a") throw unavailable();
      if (address === "http://b") throw unavailable("http://c");
      return "ok";
    }, { random: () => 0 });
    assert.equal(result, "ok");
    assert.deepEqual(tried, ["http://a", "http://b", "http://c"]);
    assert.equal(endpoints.leader(), "http://c");
  });

  it("re-sends an at-most-once call only when it surely was not applied", async () => {
    let calls = 0;
    await assert.rejects(withRetry(new Endpoints(["http://a", "http://b"]), "at-most-once", options, async () => {
      calls++;
      throw unavailable(); // maybe after the change was proposed: surface it
    }), UnavailableError);
    assert.equal(calls, 1);
    const tried: string[] = [];
    const result = await withRetry(new Endpoints(["http://a"]), "at-most-once", options, async ({ address }) => {
      tried.push(address);
      if (address === "http://a") throw unavailable("http://leader"); // a redirect: not applied here
      return "ok";
    });
    assert.equal(result, "ok");
    assert.deepEqual(tried, ["http://a", "http://leader"]);
    // An empty LeaderHint: refused before acting on it, with no leader known yet (right after a
    // reconfiguration). Re-sent, after a backoff, until a leader answers.
    let refusals = 0;
    const noLeader = () => new ConnectError("not the leader; no leader known", Code.Unavailable, undefined, [{ desc: LeaderHintSchema, value: { leaderId: 0n, leaderAddress: "" } }]);
    const later = await withRetry(new Endpoints(["http://a"]), "at-most-once", options, async () => {
      if (++refusals < 3) throw noLeader();
      return "ok";
    }, { random: () => 0 });
    assert.equal(later, "ok");
    assert.equal(refusals, 3);
  });

  it("gives an at-most-once attempt the whole deadline, an idempotent one a slice", async () => {
    const seen: Record<string, number> = {};
    for (const policy of ["idempotent", "at-most-once"] as const) {
      await withRetry(new Endpoints(["http://a"]), policy, { timeoutMs: 20_000, defaultTimeoutMs: 0 }, async ({ timeoutMs }) => {
        seen[policy] = timeoutMs;
      });
    }
    assert.ok(seen["idempotent"] <= 3000);
    assert.ok(seen["at-most-once"] > 19_000);
  });

  it("stops at the deadline with the last real error in the message", async () => {
    const t0 = performance.now();
    await assert.rejects(
      withRetry(new Endpoints(["http://a"]), "idempotent", { timeoutMs: 150, defaultTimeoutMs: 0 }, async () => {
        throw new ConnectError("connect ECONNREFUSED", Code.Unavailable, undefined, undefined, Object.assign(new Error("x"), { code: "ECONNREFUSED" }));
      }),
      (e) => e instanceof DeadlineExceededError && /deadline of 150 ms exceeded; last error: cannot connect/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 400);
  });
});

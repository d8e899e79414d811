// MetadataService on a 3-node in-process cluster: any node serves any request (forwarding to the
// leader), versions and preconditions, limits, request-id de-duplication, Session pipelining, List, Watch.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { LeaderHintSchema, PreconditionFailureSchema, ReadConsistency, SessionRequestSchema, type SessionRequest } from "@omnimeta/proto";
import { TestCluster, eventually, text, utf8, waitFor } from "./harness.ts";

async function rejects(p: Promise<unknown>, code: Code): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    const err = ConnectError.from(e);
    assert.equal(err.code, code, `expected ${Code[code]}, got ${Code[err.code]}: ${err.message}`);
    return err;
  }
  assert.fail(`expected ${Code[code]}, but the call succeeded`);
}

describe("MetadataService on three nodes", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await new TestCluster(3).start();
  });
  after(async () => {
    await cluster?.close();
  });

  test("a put at any node is read back at every node, linearizably", async () => {
    for (const [i, n] of cluster.nodes.entries()) {
      const r = await eventually("put", () => n.clients.metadata.put({ key: `any/${i}`, value: utf8(`v${i}`), requestId: `any-${i}` }));
      assert.equal(r.version, 1n);
      for (const m of cluster.nodes) {
        const g = await eventually("get", () => m.clients.metadata.get({ key: `any/${i}` }));
        assert.equal(text(g.kv?.value), `v${i}`);
        assert.ok(g.revision >= r.revision, "a linearizable read sees the acknowledged write");
      }
    }
  });

  test("versions count puts; a stale version fails with the current version as a detail and writes nothing", async () => {
    const md = cluster.followers()[0]!.clients.metadata;
    const first = await eventually("put", () => md.put({ key: "cas", value: utf8("a"), requestId: "cas-1" }));
    const second = await eventually("put", () => md.put({ key: "cas", value: utf8("b"), requestId: "cas-2", precondition: { condition: { case: "matchesVersion", value: first.version } } }));
    assert.equal(second.version, 2n);
    const err = await rejects(md.put({ key: "cas", value: utf8("c"), requestId: "cas-3", precondition: { condition: { case: "matchesVersion", value: 1n } } }), Code.FailedPrecondition);
    const [detail] = err.findDetails(PreconditionFailureSchema);
    assert.equal(detail?.currentVersion, 2n);
    assert.equal(detail?.exists, true);
    await rejects(md.put({ key: "cas", value: utf8("d"), requestId: "cas-4", precondition: { condition: { case: "doesNotExist", value: true } } }), Code.FailedPrecondition);
    assert.equal(text((await md.get({ key: "cas" })).kv?.value), "b");
    const v = await md.getVersion({ key: "cas" });
    assert.equal(v.version, 2n);
  });

  test("oversized values and keys are refused before anything is written", async () => {
    const md = cluster.nodes[1]!.clients.metadata;
    await rejects(md.put({ key: "big", value: new Uint8Array(1024 * 1024 + 1) }), Code.ResourceExhausted);
    await rejects(md.put({ key: "k".repeat(4097), value: utf8("x") }), Code.InvalidArgument);
    await rejects(md.put({ key: "", value: utf8("x") }), Code.InvalidArgument);
    await rejects(md.get({ key: "big" }), Code.NotFound);
  });

  test("a retried put with the same request id is applied once and gets the first answer", async () => {
    const leader = cluster.leader().clients.metadata;
    const follower = cluster.followers()[0]!.clients.metadata;
    const first = await eventually("put", () => leader.put({ key: "dedup", value: utf8("one"), requestId: "req-dedup" }));
    const retry = await eventually("put", () => follower.put({ key: "dedup", value: utf8("two"), requestId: "req-dedup" }));
    assert.deepEqual([retry.version, retry.revision], [first.version, first.revision]);
    const g = await leader.get({ key: "dedup" });
    assert.equal(text(g.kv?.value), "one");
    assert.equal(g.kv?.version, 1n);
  });

  test("two writes in flight under one request id on different keys each get their own answer: one applied, the other refused as a reused id", async () => {
    const leader = cluster.leader().clients.metadata;
    // Sent together, so both are pending at the leader at once (the waiters were keyed by request id alone:
    // the second caller got the first write's "ok" for a write that was never made).
    const outcomes = await Promise.allSettled([
      leader.put({ key: "inflight/a", value: utf8("a"), requestId: "req-inflight" }),
      leader.put({ key: "inflight/b", value: utf8("b"), requestId: "req-inflight" }),
    ]);
    const ok = outcomes.filter((o) => o.status === "fulfilled");
    const refused = outcomes.flatMap((o) => (o.status === "rejected" ? [ConnectError.from(o.reason)] : []));
    assert.equal(ok.length, 1, JSON.stringify(outcomes.map((o) => o.status)));
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.code, Code.InvalidArgument, refused[0]!.message);
    const written = outcomes[0]!.status === "fulfilled" ? "inflight/a" : "inflight/b";
    const other = written === "inflight/a" ? "inflight/b" : "inflight/a";
    assert.equal(text((await leader.get({ key: written })).kv?.value), written.slice(-1));
    await rejects(leader.get({ key: other }), Code.NotFound);
  });

  test("a delete of a missing key is NOT_FOUND; a delete reports the version it removed", async () => {
    const md = cluster.nodes[2]!.clients.metadata;
    await rejects(md.delete({ key: "never-there", requestId: "del-0" }), Code.NotFound);
    await eventually("put", () => md.put({ key: "gone", value: utf8("x"), requestId: "del-1" }));
    const d = await eventually("delete", () => md.delete({ key: "gone", requestId: "del-2" }));
    assert.equal(d.previousVersion, 1n);
    await rejects(md.get({ key: "gone" }), Code.NotFound);
  });

  test("a Session pipelines many requests and answers each by its id", async () => {
    const md = cluster.followers()[1]!.clients.metadata;
    const count = 100;
    async function* requests(): AsyncGenerator<SessionRequest> {
      for (let i = 0; i < count; i++) {
        yield create(SessionRequestSchema, { id: BigInt(i), op: { case: "put", value: { key: `s/${i % 7}`, value: utf8(String(i)), requestId: `sess-${i}` } } });
      }
    }
    const seen = new Map<bigint, string>();
    for await (const r of md.session(requests())) seen.set(r.id, r.result.case ?? "none");
    assert.equal(seen.size, count);
    const failed = [...seen.values()].filter((c) => c !== "put");
    // A leader change during the run may fail some with UNAVAILABLE; everything else is a put answer.
    assert.ok(failed.every((c) => c === "error") && failed.length < count / 2, `answers: ${[...new Set(seen.values())]}`);
  });

  test("List pages through a prefix in key order", async () => {
    const md = cluster.leader().clients.metadata;
    for (let i = 0; i < 25; i++) await eventually("put", () => md.put({ key: `list/${String(i).padStart(2, "0")}`, value: utf8("x"), requestId: `list-${i}` }));
    const keys: string[] = [];
    let pageToken = "";
    for (;;) {
      const page = await md.list({ prefix: "list/", limit: 10, pageToken });
      keys.push(...page.kvs.map((kv) => kv.key));
      if (page.nextPageToken === "") break;
      pageToken = page.nextPageToken;
    }
    assert.deepEqual(keys, Array.from({ length: 25 }, (_, i) => `list/${String(i).padStart(2, "0")}`));
    const keysOnly = await cluster.nodes[1]!.clients.metadata.list({ prefix: "list/", limit: 3, keysOnly: true, consistency: ReadConsistency.SERIALIZABLE });
    assert.ok(keysOnly.kvs.every((kv) => kv.value.length === 0));
  });

  test("Watch replays history from a revision, then streams live changes", async () => {
    const md = cluster.nodes[1]!.clients.metadata;
    const first = await eventually("put", () => md.put({ key: "w/a", value: utf8("1"), requestId: "w-1" }));
    const abort = new AbortController();
    const events: string[] = [];
    const done = (async () => {
      try {
        for await (const r of cluster.nodes[2]!.clients.metadata.watch({ key: "w/", prefix: true, startRevision: first.revision }, { signal: abort.signal })) {
          for (const e of r.events) events.push(`${e.kv?.key}=${text(e.kv?.value)}@${e.kv?.version}`);
        }
      } catch {
        // aborted
      }
    })();
    await eventually("put", () => md.put({ key: "w/b", value: utf8("2"), requestId: "w-2" }));
    await eventually("put", () => md.put({ key: "w/a", value: utf8("3"), requestId: "w-3" }));
    await waitFor("three watch events", () => events.length >= 3);
    abort.abort();
    await done;
    assert.deepEqual(events, ["w/a=1@1", "w/b=2@1", "w/a=3@2"]);
  });

  test("a node that is not the leader answers a forwarded request with UNAVAILABLE and a leader hint", async () => {
    const follower = cluster.followers()[0]!;
    const err = await rejects(
      follower.clients.metadata.get({ key: "x" }, { headers: { "omnimeta-forwarded": "1" } }),
      Code.Unavailable,
    );
    const [hint] = err.findDetails(LeaderHintSchema);
    assert.equal(Number(hint?.leaderId), cluster.leader().node.nodeId);
    assert.equal(hint?.leaderAddress, cluster.leader().node.address);
  });
});

// Leader loss on in-process clusters whose peer links run through cuttable proxies (peerRoutes):
// pending requests at a deposed leader fail UNAVAILABLE, a cut-off leader never serves a stale read,
// and writes resume under a new leader without losing acknowledged ones.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { TestCluster, eventually, text, utf8, waitFor } from "./harness.ts";

describe("leader loss", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await new TestCluster(3, true).start();
  });
  after(async () => {
    await cluster?.close();
  });

  test("a leader cut off from the others fails its pending write and read with UNAVAILABLE and serves no stale read", async () => {
    const old = await cluster.settled();
    const i = cluster.nodes.indexOf(old);
    await eventually("put", () => old.clients.metadata.put({ key: "stale", value: utf8("old"), requestId: "stale-1" }));
    cluster.isolate(i);
    // Settled into outcomes at once: the cut-off leader may give up (UNAVAILABLE) before the heal.
    const settle = <T,>(p: Promise<T>) => p.then((r) => r, (e: unknown) => ConnectError.from(e));
    const pendingWrite = settle(old.clients.metadata.put({ key: "stale", value: utf8("lost"), requestId: "stale-2" }, { timeoutMs: 60_000 }));
    const pendingRead = settle(old.clients.metadata.get({ key: "stale" }, { timeoutMs: 60_000 }));
    const others = cluster.nodes.filter((n) => n !== old);
    await waitFor("a new leader among the others", () => others.every((n) => { const s = n.node.status(); return s.leaderId !== 0 && s.leaderId !== old.node.nodeId; }), 30_000);
    const fresher = await eventually("put at the new leader", () => others[0]!.clients.metadata.put({ key: "stale", value: utf8("new"), requestId: "stale-3" }));
    const healedAt = Date.now();
    cluster.healAll();
    for (const p of [pendingWrite, pendingRead]) {
      const outcome = await p;
      if (outcome instanceof ConnectError) assert.equal(outcome.code, Code.Unavailable, outcome.message);
      else if ("kv" in outcome) assert.equal(text(outcome.kv?.value), "old", "a read that started before the new write may only see the old value");
      else assert.fail("the write made by a cut-off leader must not be acknowledged");
    }
    assert.ok(Date.now() - healedAt < 10_000, "pending requests fail at the latest soon after the deposed leader hears of the new one");
    const fresh = await eventually("read at the old leader", () => old.clients.metadata.get({ key: "stale" }));
    // UNAVAILABLE leaves a write's outcome open (the client retries it under the same request id): the old
    // leader re-forwards "lost" once it hears of the new leader, so it may land after "new". Never stale:
    // whatever it reads is at or after the acknowledged "new".
    if (text(fresh.kv?.value) === "lost") assert.ok(fresh.kv!.modRevision > fresher.revision, "a re-forwarded write lands after the acknowledged one");
    else assert.equal(text(fresh.kv?.value), "new");
  });

  test("after the leader stops, a new leader takes writes and every acknowledged write is kept", async () => {
    const acked: string[] = [];
    for (let k = 0; k < 20; k++) {
      const leader = await cluster.settled();
      await eventually("put", () => leader.clients.metadata.put({ key: `keep/${k}`, value: utf8(String(k)), requestId: `keep-${k}` }));
      acked.push(`keep/${k}`);
    }
    const leader = cluster.leader();
    await cluster.stop(leader);
    const survivor = cluster.nodes.find((n) => !cluster.stopped.has(n))!;
    const started = Date.now();
    await eventually("write after leader stop", () => survivor.clients.metadata.put({ key: "after", value: utf8("x"), requestId: "after-1" }), 30_000);
    const gapMs = Date.now() - started;
    for (const key of acked) assert.ok((await eventually("get", () => survivor.clients.metadata.get({ key }))).kv, key);
    assert.ok(gapMs < 15_000, `writes resumed after ${gapMs} ms`);
  });
});

describe("graceful shutdown of the leader", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await new TestCluster(3).start();
  });
  after(async () => {
    await cluster?.close();
  });

  test("close() hands leadership over first: another member already leads when it returns, and writes go on", async () => {
    const old = await cluster.settled();
    await eventually("put", () => old.clients.metadata.put({ key: "handover", value: utf8("1"), requestId: "handover-1" }));
    const others = cluster.nodes.filter((n) => n !== old);
    await cluster.stop(old);
    // Without a handover the others would still follow the closed node here (they wait for missed rounds).
    const views = others.map((n) => n.node.status().leaderId);
    assert.ok(views.some((id) => id !== 0 && id !== old.node.nodeId), `a new leader is known when close() returns (views: ${views})`);
    const put = await eventually("put after the handover", () => others[0]!.clients.metadata.put({ key: "handover", value: utf8("2"), requestId: "handover-2" }));
    assert.equal(put.version, 2n, "the write acknowledged before the shutdown is kept");
  });
});

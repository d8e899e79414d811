// What operators watch: /health and /metrics (Prometheus text, HTTP/1.1 on the RPC port, like Connect unary),
// Status, and WatchLeader (the current leader at once, then each change).

import { test } from "node:test";
import assert from "node:assert/strict";
import { TestCluster, eventually, utf8, waitFor, type TestNode } from "./harness.ts";

test("/health and /metrics answer plain HTTP/1.1 on the RPC port, with leader, indexes and batch sizes", async () => {
  const cluster = await new TestCluster(1).start();
  try {
    const n = cluster.nodes[0]!;
    for (let i = 0; i < 5; i++) await eventually("put", () => n.clients.metadata.put({ key: `m/${i}`, value: utf8("x") }));
    const health = await fetch(`${n.node.address}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { state: string }).state, "active");
    const metrics = await (await fetch(`${n.node.address}/metrics`)).text();
    assert.match(metrics, /^omnimeta_is_leader 1$/m);
    assert.match(metrics, /^omnimeta_applied_idx [1-9]\d*$/m);
    assert.match(metrics, /^omnimeta_commit_entries_count [1-9]\d*$/m);
    assert.match(metrics, /^omnimeta_commit_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m);
    assert.match(metrics, /^omnimeta_requests_total\{code="ok",method="put"\} 5$/m);
    assert.equal((await fetch(`${n.node.address}/nope`)).status, 404);
    // Connect unary with JSON over HTTP/1.1, as curl does it.
    const status = await fetch(`${n.node.address}/omnimeta.v1.ClusterService/Status`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(((await status.json()) as { state: string }).state, "NODE_STATE_ACTIVE");
  } finally {
    await cluster.close();
  }
});

test("WatchLeader sends the current leader at once, then the next one after the leader stops", async () => {
  const cluster = await new TestCluster(3).start();
  try {
    await cluster.settled();
    const watcher = cluster.followers()[0]!;
    const abort = new AbortController();
    const seen: bigint[] = [];
    const done = (async () => {
      try {
        for await (const l of watcher.clients.cluster.watchLeader({}, { signal: abort.signal })) seen.push(l.leaderId);
      } catch {
        // aborted
      }
    })();
    await waitFor("the current leader", () => seen.length > 0);
    assert.notEqual(seen[0], 0n, "a settled cluster has a leader");
    // Every message is the watcher's own view when sent: once its view stops moving, the last message names it.
    const named = (): TestNode | undefined => {
      const l = cluster.nodes.find((n) => !cluster.stopped.has(n) && n.node.status().isLeader);
      return l && seen.at(-1) === BigInt(l.node.nodeId) && watcher.node.status().leaderId === l.node.nodeId ? l : undefined;
    };
    let found: TestNode | undefined;
    await waitFor("the watch to name the leader", () => (found = named()) !== undefined);
    const leader = found!;
    const mark = seen.length;
    await cluster.stop(leader);
    await waitFor("a new leader", () => seen.slice(mark).some((id) => id !== 0n && Number(id) !== leader.node.nodeId), 30_000);
    abort.abort();
    await done;
    const s = await watcher.clients.cluster.status({});
    assert.notEqual(Number(s.leaderId), leader.node.nodeId);
  } finally {
    await cluster.close();
  }
});

// The peer-transport size gauges bench:join reads from outside: the largest encoded batch a node sent
// and the largest ExchangeRequest frame it wrote. A batch past the chunk size goes as several frames,
// each at most one chunk, envelope included (bench:join: "no frame over 1 MiB").

import { test } from "node:test";
import assert from "node:assert/strict";
import { TestCluster, eventually } from "./harness.ts";
import { defaultLimits } from "../../src/limits.ts";

const gauge = (metrics: string, name: string): number => {
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(metrics);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
};

test("a peer batch larger than one chunk is sent as frames of at most a chunk, envelope included, and both maxima are exported", async () => {
  const cluster = await new TestCluster(3).start();
  try {
    const leader = await eventually("a leader", async () => {
      for (const n of cluster.nodes) if ((await n.clients.cluster.status({})).isLeader) return n;
      throw new Error("no leader yet");
    });
    const value = new Uint8Array(600 * 1024).fill(7);
    // Puts proposed in one turn travel in one Accept batch: 3 × 600 KiB is more than one 1 MiB chunk. A
    // put that meets a leader change is retried (same request id) wherever the leader went.
    await Promise.all(Array.from({ length: 3 }, (_, i) => eventually(`put big/${i}`, () => leader.clients.metadata.put({ key: `big/${i}`, value, requestId: `big-${i}` }))));
    const all = await Promise.all(cluster.nodes.map(async (n) => (await fetch(`${n.node.address}/metrics`)).text()));
    const chunk = defaultLimits.stateChunkBytes;
    const batchMax = Math.max(...all.map((m) => gauge(m, "omnimeta_peer_batch_bytes_max")));
    const frameMax = Math.max(...all.map((m) => gauge(m, "omnimeta_peer_frame_bytes_max")));
    assert.ok(batchMax > chunk, `some batch (largest ${batchMax} B) was larger than one chunk (${chunk} B)`);
    assert.ok(frameMax > chunk / 2 && frameMax <= chunk, `largest frame ${frameMax} B: at most one chunk (${chunk} B), envelope included`);
  } finally {
    await cluster.close();
  }
});

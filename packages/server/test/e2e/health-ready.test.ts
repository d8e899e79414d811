// GET /health and GET /ready on a real metad process: 503 with a reason while the node cannot serve
// (unprovisioned), 200 once it is an active member that knows a leader; and the /ready rules that a
// process cannot be caught in for long (shutting down, catching up) on the pure function behind it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, MetadProcess } from "./metad-process.ts";
import { clientsFor, eventually } from "./clients.ts";
import { health, ready, readyApplyLagMax } from "../../src/node/health.ts";
import type { NodeStatus } from "../../src/node/node-status.ts";

async function probe(address: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${address}${path}`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

test("/health and /ready answer 503 with a reason on an unprovisioned node and 200 once it leads its cluster", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "omnimeta-ready-"));
  const node = new MetadProcess({ name: "n1", dataDir: join(dir, "n1"), port: await freePort() });
  t.after(async () => {
    await node.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await node.start();
  for (const path of ["/health", "/ready"]) {
    const r = await probe(node.address, path);
    assert.equal(r.status, 503, path);
    assert.equal(r.body.status, "unavailable");
    assert.match(String(r.body.reason), /node is unprovisioned/, path);
  }
  await clientsFor(node.address).cluster.provision({});
  for (const path of ["/health", "/ready"]) {
    const r = await eventually(`${path} 200`, async () => {
      const p = await probe(node.address, path);
      if (p.status !== 200) throw new Error(`${path}: ${p.status} ${JSON.stringify(p.body)}`);
      return p;
    });
    assert.equal(r.body.status, "ok");
    assert.equal(r.body.reason, undefined);
    assert.equal(r.body.leaderId, 1);
  }
});

const active: NodeStatus = {
  nodeId: 1, name: "n1", address: "http://127.0.0.1:1", state: "active", stateDetail: "", clusterId: "c", storageId: "s",
  configuration: undefined, leaderId: 2, leaderAddress: "http://127.0.0.1:2", isLeader: false, ballot: undefined,
  decidedIdx: 5000, appliedIdx: 5000, compactedIdx: 0, acceptedIdx: 5000,
};

test("/ready fails while the node shuts down or applies far behind its decided index; /health fails without a leader", () => {
  assert.equal(ready({ status: active, shuttingDown: false })[0], 200);
  const stopping = ready({ status: active, shuttingDown: true });
  assert.deepEqual([stopping[0], stopping[1].reason], [503, "node is shutting down"]);
  const behind = ready({ status: { ...active, appliedIdx: 5000 - readyApplyLagMax - 1 }, shuttingDown: false });
  assert.equal(behind[0], 503);
  assert.match(String(behind[1].reason), /^catching up: applied index 3999 is 1001 behind decided 5000/);
  assert.equal(health({ status: { ...active, appliedIdx: 0 }, shuttingDown: true })[0], 200, "/health is about serving, not about load balancing");
  const leaderless = health({ status: { ...active, leaderId: 0 }, shuttingDown: false });
  assert.deepEqual([leaderless[0], leaderless[1].reason], [503, "no leader known"]);
});

// The client against a real 3-node metad cluster whose leader is SIGKILLed mid-stream: while a
// majority is up no error reaches the caller, every acknowledged write is there once (versions
// advance by exactly one per acknowledged put), and a watch sees every change once, in order.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { OmnimetaClient } from "../src/index.ts";
import { eventually, MetadCluster } from "./metad-cluster.ts";

const cluster = new MetadCluster();
const clients: OmnimetaClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await cluster.close();
});

function client(endpoints: string[], mode: "session" | "unary" = "session"): OmnimetaClient {
  const c = new OmnimetaClient({ endpoints, mode, timeoutMs: 20_000 });
  clients.push(c);
  return c;
}

before(async () => {
  const n1 = await cluster.start("n1");
  await client([n1.address]).provision();
  await Promise.all([cluster.start("n2", [n1.address]), cluster.start("n3", [n1.address])]);
  const admin = client([n1.address], "unary");
  await eventually("3 members", async () => (await admin.listMembers()).configuration?.members.length === 3);
});

describe("client against a real cluster", () => {
  it("learns every member from one endpoint", async () => {
    const c = client([cluster.node("n2").address], "unary");
    await c.listMembers();
    assert.deepEqual([...c.endpoints()].sort(), cluster.addresses().sort());
    // Right after the joins leadership may still move; once a leader is known, the client tracks it.
    await eventually("a known leader", async () => (await c.listMembers()).leaderId !== 0n);
    assert.ok(cluster.addresses().includes(c.leader() ?? ""), `leader ${c.leader()}`);
  });

  it("keeps writing through a SIGKILL of the leader: no error, each write applied once", async () => {
    const c = client([cluster.node("n1").address]);
    const watcher = client(cluster.addresses(), "unary");
    const workers = 8;
    const putsPerWorker = 60;
    const start = (await c.list("ha/", { limit: 1 })).revision + 1n;
    const ac = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const e of watcher.watch("ha/", { prefix: true, startRevision: start, signal: ac.signal })) {
        seen.push(`${e.kv?.key}=${e.kv?.version}`);
        if (seen.length === workers * putsPerWorker) ac.abort();
      }
    })();
    let acked = 0;
    let ackedAfterKill = 0;
    let killDone = false;
    let killed: Promise<void> | undefined;
    const worker = async (w: number) => {
      for (let n = 1; n <= putsPerWorker; n++) {
        const res = await c.put(`ha/${w}`, `${n}`);
        assert.equal(res.version, BigInt(n), `ha/${w}: put #${n} acknowledged with version ${res.version}`);
        if (killDone) ackedAfterKill++;
        if (++acked === (workers * putsPerWorker) / 3) killed = killLeader(c).then(() => void (killDone = true));
      }
    };
    await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
    assert.ok(killed, "the leader was killed");
    await killed;
    assert.ok(ackedAfterKill >= workers * putsPerWorker / 3, `${ackedAfterKill} writes acknowledged after the kill`);
    for (let w = 0; w < workers; w++) {
      const got = await c.get(`ha/${w}`);
      assert.equal(got.kv?.version, BigInt(putsPerWorker));
      assert.equal(new TextDecoder().decode(got.kv?.value), String(putsPerWorker));
    }
    await watching;
    for (let w = 0; w < workers; w++) {
      const mine = seen.filter((s) => s.startsWith(`ha/${w}=`));
      assert.deepEqual(mine, Array.from({ length: putsPerWorker }, (_, i) => `ha/${w}=${i + 1}`));
    }
  });
});

async function killLeader(c: OmnimetaClient): Promise<void> {
  const status = await c.status();
  const leader = [...cluster.nodes.values()].find((n) => n.address === status.leaderAddress);
  assert.ok(leader, `leader ${status.leaderAddress} is one of ours`);
  await cluster.kill(leader.name, "SIGKILL");
}

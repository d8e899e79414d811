// End to end on real processes (issue 12 §2): a snapshot streamed to a joiner in checked chunks, and every
// way it can be cut short. The senders are paced (--snapshot-send-rate) so that a transfer lasts a few
// seconds and a test can act while it is under way: it waits for the joiner's status to show bytes
// received (an event it can observe), never for a time.
//  - the receiver killed mid-transfer restarts it from a clean staging area and ends with the leader's state;
//  - the sender (the leader) killed mid-transfer: the next leader offers its own snapshot and the joiner
//    starts over from it;
//  - a chunk corrupted in flight is caught by its CRC-32, and the transfer starts over.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { NodeState, type KeyValue } from "@omnimeta/proto";
import { ProcessCluster } from "./process-cluster.ts";
import { clientsFor, eventually, listAll, utf8, type NodeClients } from "./clients.ts";
import type { MetadProcess } from "./metad-process.ts";

const COMPACTION_SLOTS = 200;
/** 3,000 keys of 1 KiB: about 3 MiB of snapshot, three chunks and more, at 1 MiB/s: 3 s a transfer. */
const PRELOAD_KEYS = 3000;
const SEND_RATE = String(1024 * 1024);
const args = ["--compaction-slots", String(COMPACTION_SLOTS), "--snapshot-send-rate", SEND_RATE];

async function preload(c: NodeClients, prefix: string): Promise<void> {
  const value = new Uint8Array(1024).fill(0x61);
  for (let i = 0; i < PRELOAD_KEYS; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => c.metadata.put({ key: `${prefix}/${String(i + j).padStart(5, "0")}`, value })));
  }
}

const row = (kv: KeyValue) => `${kv.key} v${kv.version} c${kv.createRevision} m${kv.modRevision} ${Buffer.from(kv.value).toString("hex").slice(0, 16)}`;

/** Waits until `node` reports a transfer under way with some bytes in; returns the sender's node id. */
async function transferUnderWay(cluster: ProcessCluster, node: MetadProcess): Promise<number> {
  return cluster.withLogsOnFailure(eventually(`${node.options.name} receiving a snapshot`, async () => {
    const s = await clientsFor(node.address, 2000).cluster.status({});
    const t = s.transfer;
    if (t === undefined || t.bytesReceived === 0n) throw new Error(`no transfer under way (${NodeState[s.state]}, applied ${s.appliedIdx})`);
    assert.ok(t.recordsReceived < t.recordsTotal, "the transfer is still under way");
    return Number(t.fromNodeId);
  }, 30_000, 20));
}

/** Waits until `node` is active with the leader's applied index and every key equal to the leader's. */
async function caughtUp(cluster: ProcessCluster, node: MetadProcess): Promise<void> {
  const leader = cluster.clients(await cluster.leaderIndex());
  const target = (await leader.cluster.status({})).appliedIdx;
  await cluster.withLogsOnFailure(eventually(`${node.options.name} caught up`, async () => {
    const s = await clientsFor(node.address, 2000).cluster.status({});
    if (s.state !== NodeState.ACTIVE || s.appliedIdx < target) throw new Error(`at ${s.appliedIdx} of ${target} (${NodeState[s.state]})`);
    assert.equal(s.transfer, undefined, "no transfer under way once caught up");
  }, 60_000));
  const want = (await listAll(leader)).map(row);
  assert.ok(want.length >= PRELOAD_KEYS);
  assert.deepEqual((await listAll(clientsFor(node.address))).map(row), want, "the joiner holds exactly the leader's keys");
}

const countLines = (n: MetadProcess, text: string, since = 0): number => n.logs.slice(since).filter((l) => l.includes(text)).length;

/** A provisioned 3-node cluster with the preload written, for the tests of one describe block. */
function preloadedCluster(env?: Record<string, string>): ProcessCluster {
  const cluster = new ProcessCluster(args, env);
  before(async () => {
    await cluster.startProvisioned(3);
    await preload(cluster.clients(await cluster.leaderIndex()), "pre");
  }, { timeout: 120_000 });
  after(() => cluster.close());
  return cluster;
}

describe("state transfer under faults", () => {
  const cluster = preloadedCluster();

  test("a joiner killed in the middle of a transfer starts it over cleanly when it comes back, and ends with the leader's state", { timeout: 120_000 }, async () => {
    const joiner = await cluster.addNode();
    await joiner.start();
    await transferUnderWay(cluster, joiner);
    await joiner.kill("SIGKILL");
    const mark = joiner.logs.length;
    await joiner.start();
    await caughtUp(cluster, joiner);
    assert.ok(countLines(joiner, "snapshot transfer finished", mark) >= 1, "the restarted joiner received a whole snapshot");
    assert.equal(countLines(joiner, "snapshot transfer finished", 0), countLines(joiner, "snapshot transfer finished", mark), "the killed run never finished one");
  });

  test("the sender killed in the middle of a transfer: the next leader offers its own snapshot and the joiner finishes from it", { timeout: 120_000 }, async () => {
    const joiner = await cluster.addNode();
    await joiner.start();
    const from = await transferUnderWay(cluster, joiner);
    const statuses = await Promise.all(cluster.nodes.filter((n) => n.running).map(async (n) => ({ n, s: await clientsFor(n.address, 2000).cluster.status({}) })));
    const victim = statuses.find(({ s }) => Number(s.nodeId) === from)?.n;
    assert.ok(victim !== undefined && victim !== joiner, `the sender, node ${from}, is a running member`);
    assert.ok(victim.logs.some((l) => l.includes('"msg":"snapshot transfer to a peer started"')), "the sender logged the transfer's start");
    await victim.kill("SIGKILL");
    await caughtUp(cluster, joiner);
    const starts = countLines(joiner, "snapshot transfer started");
    assert.ok(starts >= 2, `the transfer started over (${starts} starts)`);
    assert.ok(countLines(joiner, "snapshot transfer failed") >= 1, "the cut transfer was reported");
    await victim.start(); // back as a follower, for the cluster's teardown to find it whole
  });
});

describe("a corrupt chunk", () => {
  const cluster = preloadedCluster({ OMNIMETA_UNSAFE: "corrupt-transfer" });

  test("is caught by its CRC-32 on arrival, never installed, and the transfer starts over", { timeout: 120_000 }, async () => {
    const joiner = await cluster.addNode();
    await joiner.start();
    await caughtUp(cluster, joiner);
    assert.ok(joiner.logs.some((l) => l.includes("snapshot transfer failed") && l.includes("CRC-32 mismatch")), "the corrupt chunk was detected");
    const metrics = await (await fetch(`${joiner.address}/metrics`)).text();
    const failures = Number(/^omnimeta_state_transfer_failures_total (\d+)/m.exec(metrics)?.[1] ?? "0");
    assert.ok(failures >= 1, `omnimeta_state_transfer_failures_total is ${failures}`);
    const received = Number(/^omnimeta_state_transfer_bytes_total\{direction="received"\} (\d+)/m.exec(metrics)?.[1] ?? "0");
    assert.ok(received > PRELOAD_KEYS * 1024, `state-transfer bytes received: ${received}`);
  });
});

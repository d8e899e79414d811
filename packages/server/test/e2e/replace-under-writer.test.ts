// End to end on real processes (issue 12): a member of a 3-node cluster loses its disk under a running
// writer. It is SIGKILLed, its data dir wiped, removed from the configuration (RemoveMember), and started
// again empty with --join: it rejoins by itself as a new incarnation (new storage id, never its old vote)
// and catches up from a snapshot, because every other node has compacted the log prefix it would need.
// Writes never stop for long, and the replaced node ends with exactly the leader's state.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { NodeState, type KeyValue } from "@omnimeta/proto";
import { ProcessCluster } from "./process-cluster.ts";
import { clientsFor, eventually, listAll, utf8, type NodeClients } from "./clients.ts";

/** Small, so the log prefix the replaced node would need is trimmed everywhere long before it comes back. */
const COMPACTION_SLOTS = 200;
const PRELOAD_KEYS = 1000;
/**
 * The longest a write may wait for the next one to succeed. Losing a follower needs no election (the
 * leader stays), so the only pauses are the two reconfigurations (a StopSign decided, then the next
 * configuration started: a few round trips and fsyncs each) and the leader building the joiner's
 * snapshot, which blocks its event loop for O(state): tens of ms for this state. 5 s is 20 election
 * rounds (5 ticks × 50 ms): room for a shared, loaded 2-core CI machine, while a writer stuck behind a
 * hung reconfiguration, a lost leader or a snapshot that never lands would blow through it.
 */
const WRITE_GAP_MS_MAX = 5000;

const cluster = new ProcessCluster(["--compaction-slots", String(COMPACTION_SLOTS)]);
before(() => cluster.startProvisioned(3), { timeout: 60_000 });
after(() => cluster.close());

/** A closed-loop writer (one put in flight) to one node; keeps the time of every acknowledged put. */
function startWriter(c: NodeClients) {
  const okAt: number[] = [];
  let stopped = false;
  let failures = 0;
  const done = (async () => {
    for (let seq = 0; !stopped; seq++) {
      try {
        await c.metadata.put({ key: `writer/${seq % 500}`, value: utf8(`v${seq}`), requestId: `writer-${seq}` }, { timeoutMs: 3000 });
        okAt.push(performance.now());
      } catch {
        failures++;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  })();
  return {
    okAt,
    get failures() {
      return failures;
    },
    stop: async () => {
      stopped = true;
      await done;
    },
    opsPerSecond: (from: number, to: number) => okAt.filter((t) => t >= from && t < to).length / ((to - from) / 1000),
    longestGapMs(from: number, to: number): number {
      let last = from;
      let gap = 0;
      for (const t of okAt) {
        if (t < from || t > to) continue;
        gap = Math.max(gap, t - last);
        last = t;
      }
      return Math.max(gap, to - last);
    },
  };
}

const row = (kv: KeyValue) => `${kv.key} v${kv.version} c${kv.createRevision} m${kv.modRevision} ${Buffer.from(kv.value).toString("hex")}`;

test("a member that lost its disk is removed, rejoins by itself with a new storage id, catches up by snapshot, and writes never stop for long", { timeout: 120_000 }, async () => {
  const leaderIdx = await cluster.leaderIndex();
  const leader = cluster.clients(leaderIdx);
  const victimIdx = [0, 1, 2].find((i) => i !== leaderIdx)!;
  const victim = cluster.nodes[victimIdx]!;
  const survivors = [0, 1, 2].filter((i) => i !== victimIdx);

  for (let i = 0; i < PRELOAD_KEYS; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => leader.metadata.put({ key: `pre/${String(i + j).padStart(5, "0")}`, value: utf8(`p${i + j}`) })));
  }
  const first = (await leader.metadata.get({ key: "pre/00000" })).kv!;
  const old = await cluster.clients(victimIdx).cluster.status({});

  const writer = startWriter(leader);
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const killedAt = performance.now();
    const opsBefore = writer.opsPerSecond(killedAt - 3000, killedAt);

    await victim.kill("SIGKILL");
    rmSync(victim.options.dataDir, { recursive: true, force: true });
    mkdirSync(victim.options.dataDir, { recursive: true });
    const removed = await eventually("RemoveMember of the dead node", () => leader.cluster.removeMember({ name: victim.options.name }));
    assert.ok(!removed.configuration!.members.some((m) => m.name === victim.options.name), "the dead node is out of the configuration");

    // The prefix up to the first preloaded key is compacted on every node left: the newcomer can only
    // get that key from a snapshot.
    await cluster.withLogsOnFailure(eventually("the survivors compacted past the preload", async () => {
      for (const i of survivors) {
        const s = await cluster.clients(i).cluster.status({});
        if (s.compactedIdx <= first.modRevision) throw new Error(`node ${i} compacted only up to ${s.compactedIdx}`);
      }
    }));

    victim.options.join = survivors.map((i) => cluster.nodes[i]!.address);
    await victim.start();
    await cluster.waitForMembers(3, 30_000);
    const leaderStatus = await leader.cluster.status({});
    const fresh = await cluster.withLogsOnFailure(eventually("the new incarnation caught up with the leader", async () => {
      const s = await cluster.clients(victimIdx).cluster.status({});
      if (s.state !== NodeState.ACTIVE || s.appliedIdx < leaderStatus.appliedIdx) throw new Error(`at ${s.appliedIdx} of ${leaderStatus.appliedIdx} (${NodeState[s.state]})`);
      return s;
    }, 30_000));
    const caughtUpAt = performance.now();

    await writer.stop();
    const gapMs = writer.longestGapMs(killedAt, caughtUpAt);
    const opsDuring = writer.opsPerSecond(killedAt, caughtUpAt);
    console.log(`writer: ${opsBefore.toFixed(0)} puts/s before the kill, ${opsDuring.toFixed(0)} puts/s while the node was replaced (${((1 - opsDuring / opsBefore) * 100).toFixed(0)}% drop), worst gap ${gapMs.toFixed(0)} ms (bound ${WRITE_GAP_MS_MAX} ms), ${writer.failures} failed puts; replaced in ${((caughtUpAt - killedAt) / 1000).toFixed(1)} s`);
    assert.ok(gapMs <= WRITE_GAP_MS_MAX, `writes stopped for ${gapMs.toFixed(0)} ms (bound ${WRITE_GAP_MS_MAX} ms)`);
    assert.ok(writer.opsPerSecond(killedAt, caughtUpAt) > 0, "writes went on while the node was replaced");

    assert.notEqual(fresh.storageId, old.storageId, "the new incarnation has a new storage id");
    const { configuration } = await leader.cluster.listMembers({});
    assert.ok(!configuration!.members.some((m) => m.storageId === old.storageId), "no member holds the old incarnation's vote");
    assert.equal(configuration!.members.find((m) => m.name === victim.options.name)?.storageId, fresh.storageId);

    const leaderApplied = (await leader.cluster.status({})).appliedIdx;
    await eventually("the replaced node applied everything the leader did", async () => {
      const s = await cluster.clients(victimIdx).cluster.status({});
      if (s.appliedIdx < leaderApplied) throw new Error(`at ${s.appliedIdx} of ${leaderApplied}`);
    });
    const [onLeader, onVictim] = await Promise.all([listAll(leader), listAll(clientsFor(victim.address))]);
    assert.ok(onLeader.length >= PRELOAD_KEYS, `the leader holds ${onLeader.length} keys`);
    assert.deepEqual(onVictim.map(row), onLeader.map(row), "the replaced node's state equals the leader's, key by key");
  } finally {
    await writer.stop();
  }
});

// Periodic log compaction: the policy's trigger, refusals from the core taken as "not now", and on a
// 3-node cluster every node compacting its log while reads stay exact and a stopped follower catches up.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join as joinPath } from "node:path";
import Database from "better-sqlite3";
import { CompactionError } from "@omnimeta/omnipaxos";
import { Code, ConnectError } from "@connectrpc/connect";
import { compactionTarget, LogCompaction, type Compactable } from "../../src/node/compaction.ts";
import { DATABASE_FILE } from "../../src/storage/open-database.ts";
import { ConfigError, defaultLimits, parseCommandLine, silentLogger } from "../../src/index.ts";
import { TestCluster, eventually, text, utf8, waitFor, type TestNode } from "./harness.ts";

const SERIALIZABLE = 2;

test("compaction is due once `slots` applied slots are uncompacted, and only up to what is applied", () => {
  assert.equal(compactionTarget({ decidedIdx: 19, compactedIdx: 0, appliedIdx: 19 }, 20), undefined);
  assert.equal(compactionTarget({ decidedIdx: 20, compactedIdx: 0, appliedIdx: 20 }, 20), 20);
  assert.equal(compactionTarget({ decidedIdx: 50, compactedIdx: 0, appliedIdx: 30 }, 20), 30);
  assert.equal(compactionTarget({ decidedIdx: 50, compactedIdx: 20, appliedIdx: 39 }, 20), undefined);
  assert.equal(compactionTarget({ decidedIdx: 30, compactedIdx: 0, appliedIdx: 45 }, 20), 30);
});

test("a held slot (a snapshot being sent to a peer) stops compaction there: the peer continues from the log after it", () => {
  assert.equal(compactionTarget({ decidedIdx: 100, compactedIdx: 0, appliedIdx: 100 }, 20, 60), 60);
  assert.equal(compactionTarget({ decidedIdx: 100, compactedIdx: 50, appliedIdx: 100 }, 20, 60), undefined, "not `slots` past the compacted prefix below the hold");
  assert.equal(compactionTarget({ decidedIdx: 100, compactedIdx: 0, appliedIdx: 100 }, 20, undefined), 100);
});

test("--compaction-slots sets the threshold (default 10,000); it must be a positive integer", () => {
  assert.equal(defaultLimits.compactionSlots, 10_000);
  const base = ["--name", "n1", "--data-dir", "/tmp/x"];
  assert.equal(parseCommandLine([...base, "--compaction-slots", "500"]).limits?.compactionSlots, 500);
  assert.equal(parseCommandLine(base).limits?.compactionSlots, undefined);
  assert.throws(() => parseCommandLine([...base, "--compaction-slots", "0"]), (e: Error) => e instanceof ConfigError && /--compaction-slots/.test(e.message));
});

test("a refusal from the core is 'not now': no throw, and no retry before another `slots` slots are decided", () => {
  const calls: Array<[number | undefined, boolean | undefined]> = [];
  let decided = 25;
  let compacted = 0;
  let refuse = true;
  const core: Compactable = {
    getDecidedIdx: () => decided,
    getCompactedIdx: () => compacted,
    snapshot: (idx, localOnly) => {
      calls.push([idx, localOnly]);
      if (refuse) throw new CompactionError("already-compacted", "refused");
      compacted = idx!;
    },
  };
  const policy = new LogCompaction(20, silentLogger);
  policy.afterFlush(core, 25);
  assert.deepEqual(calls, [[25, true]]);
  refuse = false;
  decided = 40;
  policy.afterFlush(core, 40);
  assert.equal(calls.length, 1, "no retry before decidedIdx reaches 25 + 20");
  decided = 45;
  policy.afterFlush(core, 44);
  assert.deepEqual(calls[1], [44, true], "local snapshot up to the applied slot");
  assert.equal(compacted, 44);
});

test("a slow compaction delays the next one: at most 1/20 of the time is spent compacting", () => {
  let clock = 1000;
  let decided = 0;
  let compacted = 0;
  const core: Compactable = {
    getDecidedIdx: () => decided,
    getCompactedIdx: () => compacted,
    snapshot: (idx) => {
      clock += 10; // each compaction takes 10 ms
      compacted = idx!;
    },
  };
  const policy = new LogCompaction(20, silentLogger, undefined, () => clock);
  decided = 20;
  policy.afterFlush(core, 20);
  assert.equal(compacted, 20);
  decided = 40;
  clock += 189;
  policy.afterFlush(core, 40);
  assert.equal(compacted, 20, "not within 19 x 10 ms of the last compaction's end");
  clock += 1;
  policy.afterFlush(core, 40);
  assert.equal(compacted, 40);
});

interface Expected {
  value: string;
  version: bigint;
  modRevision: bigint;
}

async function putAll(leaderOf: () => TestNode, expected: Map<string, Expected>, keys: string[], tag: string): Promise<void> {
  // 10 writes in flight at a time, in order per key (no key appears twice in one batch).
  for (let i = 0; i < keys.length; i += 10) {
    await Promise.all(keys.slice(i, i + 10).map(async (key, j) => {
      const value = `${tag}-${key}`;
      const r = await eventually("put", () => leaderOf().clients.metadata.put({ key, value: utf8(value), requestId: `${tag}-${i + j}` }));
      expected.set(key, { value, version: r.version, modRevision: r.revision });
    }));
  }
}

async function assertAllReadable(n: TestNode, expected: Map<string, Expected>): Promise<void> {
  for (const [key, want] of expected) {
    const g = await n.clients.metadata.get({ key, consistency: SERIALIZABLE });
    assert.equal(text(g.kv?.value), want.value, `${n.name} ${key} value`);
    assert.equal(g.kv?.version, want.version, `${n.name} ${key} version`);
    assert.equal(g.kv?.modRevision, want.modRevision, `${n.name} ${key} mod revision`);
  }
}

async function compactedIdx(n: TestNode): Promise<number> {
  return Number((await n.clients.cluster.status({})).compactedIdx);
}

test("every node compacts its log; keys stay exact, and a follower stopped past a compaction catches up", async () => {
  const cluster = await new TestCluster(3, false, { limits: { compactionSlots: 20 } }).start();
  try {
    const expected = new Map<string, Expected>();
    const keys = Array.from({ length: 80 }, (_, i) => `c/${i}`);
    // 100 writes: 80 keys, 20 of them written twice (version 2).
    await putAll(() => cluster.leader(), expected, [...keys, ...keys.slice(0, 20)], "a");
    const applied = cluster.leader().node.status().appliedIdx;
    assert.ok(applied >= 100);
    await waitFor("every node applied every write", () => cluster.nodes.every((n) => n.node.status().appliedIdx >= applied));
    for (const n of cluster.nodes) {
      await waitFor(`${n.name} compacted its applied prefix`, async () => (await compactedIdx(n)) > applied - 20);
    }
    for (const n of cluster.nodes) await assertAllReadable(n, expected);
    assert.equal(expected.get("c/0")!.version, 2n);

    // Stop a follower; the others compact past everything it has.
    const follower = cluster.followers()[0]!;
    const index = cluster.nodes.indexOf(follower);
    const atStop = follower.node.status();
    await cluster.stop(follower);
    const db = new Database(joinPath(follower.dataDir, DATABASE_FILE), { readonly: true });
    try {
      // Rows are kept only above the durable compacted index: fewer than two thresholds' worth of the ~100 slots.
      const rows = db.prepare("SELECT COUNT(*) AS count, MIN(idx) AS minIdx FROM log").get() as { count: number; minIdx: number | null };
      assert.ok(rows.count < 40 && (rows.minIdx === null || rows.minIdx >= 20), `the log table was trimmed: ${JSON.stringify(rows)} of ${atStop.decidedIdx} slots`);
    } finally {
      db.close();
    }
    const more = Array.from({ length: 40 }, (_, i) => `d/${i}`);
    await putAll(() => cluster.leader(), expected, [...more, ...keys.slice(20, 40)], "b");
    const leader = cluster.leader();
    await waitFor("the leader compacted past the stopped follower's log", async () => (await compactedIdx(leader)) > atStop.decidedIdx);

    const again = await cluster.startNode(index);
    await cluster.settled();
    const target = leader.node.status().appliedIdx;
    await waitFor("the restarted follower applied every write", () => again.node.status().appliedIdx >= target);
    await assertAllReadable(again, expected);
    assert.equal(expected.get("c/30")!.version, 2n);
    assert.ok((await compactedIdx(again)) > atStop.decidedIdx, "it took the snapshot (or compacted again) past where it stopped");
  } finally {
    await cluster.close();
  }
});

test("a live watch on a follower that catches up by snapshot ends as compacted (OUT_OF_RANGE), never skipping the snapshot's revisions", async () => {
  const cluster = await new TestCluster(3, true, { limits: { compactionSlots: 20 } }).start();
  try {
    const leader = cluster.leader();
    const follower = cluster.followers()[0]!;
    const index = cluster.nodes.indexOf(follower);
    const first = await eventually("put", () => leader.clients.metadata.put({ key: "wj/0", value: utf8("0"), requestId: "wj-0" }));
    await waitFor("the follower applied the first write", () => follower.node.status().appliedIdx >= Number(first.revision));
    const abort = new AbortController();
    const seen: bigint[] = [];
    const ended = (async (): Promise<ConnectError | undefined> => {
      try {
        for await (const r of follower.clients.metadata.watch({ key: "wj/", prefix: true, startRevision: first.revision }, { signal: abort.signal })) {
          for (const e of r.events) seen.push(e.kv!.modRevision);
        }
        return undefined;
      } catch (e) {
        return ConnectError.from(e);
      }
    })();
    await waitFor("the watch delivered the first write", () => seen.length === 1);
    cluster.isolate(index);
    for (let i = 1; i <= 60; i++) await eventually("put", () => cluster.leader().clients.metadata.put({ key: `wj/${i}`, value: utf8(String(i)), requestId: `wj-${i}` }), 30_000);
    await waitFor("the leader compacted past the isolated follower", async () => (await compactedIdx(cluster.leader())) > follower.node.status().appliedIdx);
    cluster.healAll();
    const err = await ended;
    assert.ok(err !== undefined, `the watch kept going over a snapshot install; it saw revisions ${seen.join(",")}`);
    assert.equal(err.code, Code.OutOfRange, err.message);
    assert.match(err.message, /caught up by snapshot/);
    // Whatever it delivered before ending is gapless from the start revision.
    const puts = seen.map(Number);
    for (let i = 1; i < puts.length; i++) assert.ok(puts[i]! > puts[i - 1]!);
    abort.abort();
  } finally {
    await cluster.close();
  }
});

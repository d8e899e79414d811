// The KV state machine: versions and revisions, preconditions, request-id de-duplication with a
// bounded window, watch history with compaction, and snapshots equal to the full replay.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Command, Precondition } from "../../src/state-machine/command.ts";
import { KvStateMachine, WatchCompactedError } from "../../src/state-machine/kv-state-machine.ts";
import { MemoryKvBackend } from "../../src/state-machine/memory-kv-backend.ts";
import { DEFAULT_STATE_MACHINE_LIMITS, type StateMachineLimits } from "../../src/state-machine/limits.ts";
import { createKvSnapshot, createKvSnapshotOfSlots, decodeKvSnapshot, encodeKvSnapshot, mergeKvSnapshots, type KvSnapshot } from "../../src/state-machine/kv-snapshot.ts";
import { randomCommands } from "./random-commands.ts";

const none: Precondition = { kind: "none" };
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const put = (key: string, value: string, requestId = "", precondition: Precondition = none): Command => ({ kind: "put", key, value: bytes(value), precondition, requestId });
const del = (key: string, requestId = "", precondition: Precondition = none): Command => ({ kind: "delete", key, precondition, requestId });

function machine(limits: Partial<StateMachineLimits> = {}): KvStateMachine {
  return new KvStateMachine(new MemoryKvBackend(), { ...DEFAULT_STATE_MACHINE_LIMITS, ...limits });
}

function replay(commands: readonly Command[], limits: Partial<StateMachineLimits> = {}): KvStateMachine {
  const m = machine(limits);
  commands.forEach((c, i) => m.apply(i + 1, c));
  return m;
}

test("a key's version is 1 on create, +1 per put, and starts again at 1 after a delete", () => {
  const m = machine();
  assert.deepEqual(m.apply(1, put("a", "x")), { kind: "ok", revision: 1, version: 1, previousVersion: 0 });
  assert.deepEqual(m.apply(2, put("a", "y")), { kind: "ok", revision: 2, version: 2, previousVersion: 1 });
  m.apply(3, { kind: "noop" });
  assert.deepEqual(m.get("a"), { key: "a", value: bytes("y"), version: 2, createRevision: 1, modRevision: 2 });
  assert.deepEqual(m.apply(4, del("a")), { kind: "ok", revision: 4, version: 0, previousVersion: 2 });
  assert.equal(m.get("a"), undefined);
  assert.deepEqual(m.apply(5, put("a", "z")), { kind: "ok", revision: 5, version: 1, previousVersion: 0 });
  assert.deepEqual(m.get("a"), { key: "a", value: bytes("z"), version: 1, createRevision: 5, modRevision: 5 });
  assert.equal(m.appliedRevision, 5);
});

test("failed preconditions change nothing and report whether the key exists and its version", () => {
  const m = machine();
  m.apply(1, put("a", "x"));
  assert.deepEqual(m.apply(2, put("a", "y", "", { kind: "doesNotExist" })), { kind: "preconditionFailed", revision: 2, key: "a", exists: true, currentVersion: 1 });
  assert.deepEqual(m.apply(3, put("a", "y", "", { kind: "matchesVersion", version: 7 })), { kind: "preconditionFailed", revision: 3, key: "a", exists: true, currentVersion: 1 });
  assert.deepEqual(m.apply(4, del("b", "", { kind: "matchesVersion", version: 1 })), { kind: "preconditionFailed", revision: 4, key: "b", exists: false, currentVersion: 0 });
  assert.deepEqual(m.get("a")?.value, bytes("x"));
  assert.equal(m.apply(5, put("a", "y", "", { kind: "matchesVersion", version: 1 })).kind, "ok");
  assert.equal(m.apply(6, put("b", "y", "", { kind: "doesNotExist" })).kind, "ok");
  assert.deepEqual(m.apply(7, del("zzz")), { kind: "notFound", revision: 7, key: "zzz" });
});

test("a retried request id gets the first answer and is applied once", () => {
  const m = machine();
  const first = m.apply(1, put("a", "x", "r1"));
  m.apply(2, put("a", "other"));
  assert.deepEqual(m.apply(3, put("a", "x", "r1")), first);
  assert.equal(m.get("a")?.version, 2);
  const failed = m.apply(4, put("a", "y", "r2", { kind: "doesNotExist" }));
  m.apply(5, del("a"));
  assert.deepEqual(m.apply(6, put("a", "y", "r2", { kind: "doesNotExist" })), failed, "a failure is remembered too");
  assert.equal(m.get("a"), undefined);
});

test("a request id reused for another key or operation is refused and changes nothing, across a snapshot too (fuzz seed 387192)", () => {
  const m = machine();
  m.apply(1, put("seed/1", "x"));
  const first = m.apply(2, put("scratch/a", "v", "r1"));
  assert.equal(first.kind, "ok");
  assert.deepEqual(m.apply(3, put("seed/1", "y", "r1", { kind: "doesNotExist" })), { kind: "requestIdReused", revision: 3, requestId: "r1" });
  assert.deepEqual(m.apply(4, del("scratch/a", "r1")), { kind: "requestIdReused", revision: 4, requestId: "r1" }, "another operation on the same key");
  assert.equal(m.get("seed/1")?.version, 1);
  assert.equal(m.get("scratch/a")?.version, 1);
  assert.deepEqual(m.apply(5, put("scratch/a", "v", "r1")), first, "a true retry still gets the first answer");
  const restored = machine();
  const snap = decodeKvSnapshot(encodeKvSnapshot({ kind: "full", lastRevision: 5, state: m.backend.exportState() }));
  restored.backend.importState(snap.kind === "full" ? snap.state : assert.fail("full snapshot expected"));
  assert.equal(restored.apply(6, put("seed/1", "z", "r1")).kind, "requestIdReused", "the snapshot keeps what the id was for");
});

test("request ids are forgotten after the de-dup window, measured in revisions", () => {
  const m = machine({ dedupWindowRevisions: 3 });
  m.apply(1, put("a", "x", "r1"));
  assert.equal(m.apply(3, put("a", "x", "r1")).revision, 1, "still inside the window");
  assert.deepEqual(m.apply(4, put("a", "x", "r1")), { kind: "ok", revision: 4, version: 2, previousVersion: 1 });
});

test("the watch history serves changes from a revision, by key or prefix, with delete tombstones", () => {
  const m = machine();
  m.apply(1, put("p/a", "1"));
  m.apply(2, put("q", "1"));
  m.apply(3, put("p/b", "1"));
  m.apply(4, del("p/a"));
  const events = m.readEvents({ key: "p/", prefix: true }, 2, 100);
  assert.deepEqual(events.map((e) => [e.type, e.kv.key, e.revision, e.kv.version]), [["put", "p/b", 3, 1], ["delete", "p/a", 4, 1]]);
  assert.equal(events[1]!.kv.value.length, 0);
  assert.deepEqual(m.readEvents({ key: "q", prefix: false }, 1, 100).map((e) => e.revision), [2]);
  assert.deepEqual(m.takeEvents().map((e) => e.revision), [1, 2, 3, 4]);
  assert.deepEqual(m.takeEvents(), []);
});

test("watching from a compacted revision fails with the oldest retained revision", () => {
  const m = machine({ watchHistoryRevisions: 3 });
  for (let r = 1; r <= 10; r++) m.apply(r, put("k", String(r)));
  assert.deepEqual(m.readEvents({ key: "k", prefix: false }, 8, 100).map((e) => e.revision), [8, 9, 10]);
  assert.throws(() => m.readEvents({ key: "k", prefix: false }, 7, 100), (e: unknown) =>
    e instanceof WatchCompactedError && e.oldestRetainedRevision === 8 && /revision 7 is compacted/.test(e.message));
  assert.deepEqual(m.readEvents({ key: "k", prefix: false }, 11, 100), [], "the future is not compacted");
});

test("the watch history is bounded by bytes too", () => {
  const m = machine({ watchHistoryBytes: 3 * (1 + 1000 + 32) });
  for (let r = 1; r <= 10; r++) m.apply(r, put("k", "v".repeat(1000)));
  const kept = m.readEvents({ key: "k", prefix: false }, 8, 100);
  assert.deepEqual(kept.map((e) => e.revision), [8, 9, 10]);
  assert.throws(() => m.readEvents({ key: "k", prefix: false }, 5, 100), WatchCompactedError);
});

test("list pages through a prefix in key order", () => {
  const m = machine();
  ["b/2", "a", "b/1", "b/3", "c"].forEach((k, i) => m.apply(i + 1, put(k, k)));
  const page1 = m.list("b/", "", 2);
  assert.deepEqual([page1.records.map((r) => r.key), page1.more], [["b/1", "b/2"], true]);
  const page2 = m.list("b/", "b/2", 2);
  assert.deepEqual([page2.records.map((r) => r.key), page2.more], [["b/3"], false]);
});

test("apply refuses to go backwards", () => {
  const m = machine();
  m.apply(5, { kind: "noop" });
  assert.throws(() => m.apply(5, { kind: "noop" }), /already applied 5/);
});

function stateOf(s: KvSnapshot | KvStateMachine): unknown {
  if (s instanceof KvStateMachine) return s.exportState();
  assert.equal(s.kind, "full");
  return s.kind === "full" ? s.state : undefined;
}

for (const seed of [1, 2, 3, 4, 5]) {
  test(`snapshots equal the full replay (seed ${seed}): create, merge of deltas, and install`, () => {
    const commands = randomCommands(seed, 400);
    const full = replay(commands);
    // One snapshot of everything.
    assert.deepEqual(stateOf(createKvSnapshot(commands, 0)), stateOf(full));
    // A resolved prefix merged with deltas, and deltas merged among themselves first.
    const cuts = [0, 57, 130, 131, 290, 400];
    const parts = cuts.slice(1).map((to, i) => createKvSnapshot(commands.slice(cuts[i], to), cuts[i]!));
    assert.deepEqual(stateOf(parts.reduce(mergeKvSnapshots)), stateOf(full));
    const deltas = parts.slice(1).reduce(mergeKvSnapshots);
    assert.equal(deltas.kind, "delta");
    assert.deepEqual(stateOf(mergeKvSnapshots(parts[0]!, deltas)), stateOf(full));
    // A replica that applied a prefix installs a snapshot and continues with the log.
    const replica = replay(commands.slice(0, 100));
    replica.installSnapshot(parts.slice(0, 3).reduce(mergeKvSnapshots));
    commands.slice(131).forEach((c, i) => replica.apply(132 + i, c));
    assert.deepEqual(stateOf(replica), stateOf(full));
    // A fresh replica installs a full snapshot at 290 and then a delta that overlaps it.
    const fresh = machine();
    fresh.installSnapshot(parts.slice(0, 4).reduce(mergeKvSnapshots));
    fresh.installSnapshot(createKvSnapshot(commands.slice(250), 250));
    assert.deepEqual(stateOf(fresh), stateOf(full));
  });
}

test("StopSign slots keep revisions aligned in snapshots of log slots", () => {
  const commands = randomCommands(9, 50);
  const slots = commands.map((entry) => ({ kind: "entry" as const, entry }));
  slots.splice(20, 0, { kind: "stopsign", stopSign: { nextConfig: { configurationId: 2, nodes: [1, 2] } } } as never);
  const m = machine();
  slots.forEach((s, i) => (s.kind === "entry" ? m.apply(i + 1, s.entry) : m.skip(i + 1)));
  const snap = mergeKvSnapshots(createKvSnapshotOfSlots(slots.slice(0, 10), 0), createKvSnapshotOfSlots(slots.slice(10), 10));
  assert.equal(snap.lastRevision, 51);
  assert.deepEqual(stateOf(snap), stateOf(m));
});

// Compaction scenarios: snapshot catch-up of a lagging follower with the full state compared,
// trim with node ids that are not 1..n, and refusals with typed errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CompactionError, MemoryStorage, OmniPaxos } from "../../src/index.ts";
import { scenario } from "../harness/scenario.ts";

test("a lagging follower catches up from a snapshot and ends with the full decided state", () => {
  const c = scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 3 a b
    tick 1
    isolate 1
    append 2 c d e f
    tick 2
    # the leader and node 2 fold everything decided into snapshots
    snapshot 3 all
    tick 1
    expect compacted 3 >= 6
    expect compacted 2 >= 6
    heal all
    tick 30
    expect compacted 1 >= 6
    expect decided a b c d e f
    append 1 g
    tick 2
    expect decided a b c d e f g
  `);
  // The follower's state equals the snapshot built from ALL decided entries, not a merge of its own
  // older snapshot with a delta.
  const first = c.node(1).op.read(0);
  assert.equal(first?.kind, "snapshotted");
  if (first?.kind === "snapshotted") assert.deepEqual(first.snapshot, ["a", "b", "c", "d", "e", "f"]);
});

test("a follower that snapshotted locally and then lagged converges to the leader's state", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 3 a b
    tick 1
    snapshot 1
    isolate 1
    append 3 c d
    tick 2
    snapshot 3 all
    tick 1
    heal all
    tick 30
    expect decided a b c d
    expect compacted 1 >= 4
  `);
});

test("trim works with node ids that are not 1..n", () => {
  scenario(`
    nodes 10 20 30
    tick-until leader 30 within 20
    append 10 a b c
    tick 2
    trim 30
    tick 1
    expect compacted 30 >= 3
    expect compacted 10 >= 3
    expect compacted 20 >= 3
    expect decided a b c
  `);
});

test("trim beyond what every member decided is refused, and only the leader trims", () => {
  const c = scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    isolate 1
    append 3 a b
    tick 2
  `);
  assert.throws(() => c.node(3).op.trim(2), (e: unknown) => e instanceof CompactionError && e.code === "not-decided");
  assert.throws(() => c.node(2).op.trim(), (e: unknown) => e instanceof CompactionError && e.code === "not-leader");
});

test("snapshot without a snapshot spec is refused", () => {
  const op = new OmniPaxos<string>({ cluster: { configurationId: 1, nodes: [1] }, server: { pid: 1 } }, new MemoryStorage<string, never>());
  assert.throws(() => op.snapshot(), (e: unknown) => e instanceof CompactionError && e.code === "no-snapshot-spec");
});

test("a spec that can snapshot a whole prefix compacts without reading the compacted slots", () => {
  // A node whose snapshot is a handle to state it applied: compacting a million slots read and folded every
  // one of them (2.3 s in bench:compaction) only to keep the handle.
  let reads = 0;
  class CountingStorage extends MemoryStorage<string, string> {
    override getEntries(fromIdx: number, toIdx: number) {
      reads += toIdx - fromIdx;
      return super.getEntries(fromIdx, toIdx);
    }
  }
  const spec = { create: () => "delta", merge: () => "merged", snapshotOfPrefix: (idx: number) => `prefix-${idx}` };
  const op = new OmniPaxos<string, string>({ cluster: { configurationId: 1, nodes: [1] }, server: { pid: 1 } }, new CountingStorage(), { snapshot: spec });
  for (let i = 0; i < 50 && op.getCurrentLeader() !== 1; i++) op.tick();
  for (let i = 0; i < 10; i++) op.append(`e${i}`);
  for (let i = 0; i < 5 && op.getDecidedIdx() < 10; i++) {
    op.takeOutgoingMessages();
    op.tick();
  }
  assert.equal(op.getDecidedIdx(), 10);
  reads = 0;
  op.snapshot(8);
  assert.equal(op.getCompactedIdx(), 8);
  assert.equal(reads, 0, "no slot read");
  assert.deepEqual(op.read(0), { kind: "snapshotted", trimmedIdx: 8, snapshot: "prefix-8" });
});

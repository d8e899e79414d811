// storedKvSnapshotSpec: a node's compaction snapshot is a handle to its own applied tables (O(1)), and
// whatever it resolves instead (a snapshot beyond the applied revision) equals the full replay.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { StoredEntry } from "@omnimeta/omnipaxos";
import type { Command } from "../../src/state-machine/command.ts";
import { KvStateMachine } from "../../src/state-machine/kv-state-machine.ts";
import { MemoryKvBackend } from "../../src/state-machine/memory-kv-backend.ts";
import { DEFAULT_STATE_MACHINE_LIMITS } from "../../src/state-machine/limits.ts";
import { createKvSnapshot, createKvSnapshotOfSlots, decodeKvSnapshot, encodeKvSnapshot, materialize, mergeKvSnapshots, storedKvSnapshotSpec, type KvSnapshot } from "../../src/state-machine/kv-snapshot.ts";
import { randomCommands } from "./random-commands.ts";

const slots = (commands: readonly Command[]): StoredEntry<Command>[] => commands.map((entry) => ({ kind: "entry", entry }));

function applied(commands: readonly Command[], upTo: number): KvStateMachine {
  const m = new KvStateMachine(new MemoryKvBackend(), { ...DEFAULT_STATE_MACHINE_LIMITS, watchHistoryRevisions: 0 });
  for (let i = 0; i < upTo; i++) m.apply(i + 1, commands[i]!);
  return m;
}

test("a snapshot up to the applied revision is a stored handle of a few bytes, whatever the state's size", () => {
  const commands = randomCommands(7, 2_000);
  const m = applied(commands, 2_000);
  const spec = storedKvSnapshotSpec(m);
  const first = spec.create(slots(commands.slice(0, 1_000)), 0);
  assert.deepEqual(first, { kind: "stored", lastRevision: 1_000 });
  const merged = spec.merge(first, createKvSnapshotOfSlots(slots(commands.slice(1_000, 1_500)), 1_000));
  assert.deepEqual(merged, { kind: "stored", lastRevision: 1_500 });
  const bytes = encodeKvSnapshot(merged);
  assert.ok(bytes.length <= 4, `stored snapshot record is ${bytes.length} bytes`);
  assert.deepEqual(decodeKvSnapshot(bytes), merged);
  // A full snapshot received from a peer is folded into the handle once the machine applied past it.
  const full = createKvSnapshot(commands.slice(0, 800), 0);
  assert.deepEqual(spec.merge(full, createKvSnapshotOfSlots(slots(commands.slice(800, 1_200)), 800)), { kind: "stored", lastRevision: 1_200 });
});

test("beyond the applied revision the snapshot is resolved: the machine's state plus the delta's commands, equal to the full replay", () => {
  const commands = randomCommands(11, 1_500);
  const m = applied(commands, 900);
  const spec = storedKvSnapshotSpec(m);
  const replay = (n: number): KvSnapshot => createKvSnapshot(commands.slice(0, n), 0);
  // create from slot 0 past what is applied: resolved like kvSnapshotSpec.
  assert.deepEqual(spec.create(slots(commands.slice(0, 1_000)), 0), replay(1_000));
  // merge of a handle with a delta past the applied revision: state at 900 + commands 901..1500.
  const handle = spec.create(slots(commands.slice(0, 600)), 0);
  assert.equal(handle.kind, "stored");
  const resolved = spec.merge(handle, createKvSnapshotOfSlots(slots(commands.slice(600, 1_500)), 600));
  assert.deepEqual(encodeKvSnapshot(resolved), encodeKvSnapshot(replay(1_500)));
  // What leaves the node for a handle is the full state at the applied revision (it covers the handle's slots).
  const sent = materialize(m);
  assert.equal(sent.lastRevision, 900);
  assert.deepEqual(encodeKvSnapshot(sent), encodeKvSnapshot(replay(900)));
});

test("a stored handle cannot be installed beyond the applied revision, nor merged without its machine", () => {
  const commands = randomCommands(3, 50);
  const m = applied(commands, 10);
  assert.throws(() => m.installSnapshot({ kind: "stored", lastRevision: 20 }), /beyond applied/);
  m.installSnapshot({ kind: "stored", lastRevision: 10 }); // our own tables: nothing to do
  assert.equal(m.appliedRevision, 10);
  assert.throws(() => mergeKvSnapshots({ kind: "stored", lastRevision: 10 }, createKvSnapshotOfSlots(slots(commands.slice(10, 20)), 10)), /storedKvSnapshotSpec/);
});

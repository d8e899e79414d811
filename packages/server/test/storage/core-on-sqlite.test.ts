// The real OmniPaxos core on the SQLite store, three nodes in one process with an in-memory network:
// every turn applies decided slots, commits, and only then delivers messages (the server's order).
// A node crashes (its uncommitted turn is lost), the leader snapshots, the node restarts from its data
// dir and catches up through the snapshot; every replica's KV state equals the full replay.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OmniPaxos, type Message } from "@omnimeta/omnipaxos";
import { openNodeStore, type NodeStore } from "../../src/storage/node-store.ts";
import type { Command } from "../../src/state-machine/command.ts";
import { KvStateMachine } from "../../src/state-machine/kv-state-machine.ts";
import { MemoryKvBackend } from "../../src/state-machine/memory-kv-backend.ts";
import { kvSnapshotSpec, type KvSnapshot } from "../../src/state-machine/kv-snapshot.ts";
import { randomCommands } from "../state-machine/random-commands.ts";

type Core = OmniPaxos<Command, KvSnapshot>;
interface Node {
  pid: number;
  dir: string;
  store: NodeStore;
  machine: KvStateMachine;
  core: Core;
  up: boolean;
}

const root = mkdtempSync(join(tmpdir(), "omnimeta-core-sqlite-"));
const nodes: Node[] = [];
after(() => {
  for (const n of nodes) if (n.up) n.store.close();
  rmSync(root, { recursive: true, force: true });
});

const cluster = { configurationId: 1, nodes: [1, 2, 3] };

function boot(pid: number, dir: string): Node {
  const { store, stateMachine } = openNodeStore({ dataDir: dir, name: `n${pid}` });
  const core: Core = new OmniPaxos({ cluster, server: { pid } }, store, {
    snapshot: kvSnapshotSpec,
    entryId: (c) => (c.kind === "put" || c.kind === "delete" ? c.requestId : ""),
  });
  store.commit();
  return { pid, dir, store, machine: stateMachine, core, up: true };
}

/** Applies decided slots the way the server's replica does. */
function applyDecided(n: Node): void {
  for (;;) {
    const applied = n.machine.appliedRevision;
    if (applied >= n.core.getDecidedIdx()) return;
    const entries = n.core.readEntries(applied, n.core.getDecidedIdx());
    assert.ok(entries && entries.length > 0, `n${n.pid}: decided slots from ${applied} are readable`);
    for (const e of entries) {
      if (e.kind === "entry" && e.idx >= n.machine.appliedRevision) n.machine.apply(e.idx + 1, e.entry);
      else if (e.kind === "stopsign" && e.idx >= n.machine.appliedRevision) n.machine.skip(e.idx + 1);
      else if (e.kind === "snapshotted") {
        n.machine.installSnapshot(e.snapshot);
        snapshotInstalls.set(n.pid, (snapshotInstalls.get(n.pid) ?? 0) + 1);
      }
      else if (e.kind === "trimmed") assert.fail(`n${n.pid}: slots below ${e.trimmedIdx} trimmed before they were applied`);
    }
  }
}

const snapshotInstalls = new Map<number, number>();
let inFlight: Message<Command, KvSnapshot>[] = [];

/** One event-loop turn on every live node: deliver, tick, take, apply, COMMIT, then send. */
function turn(tick: boolean): void {
  const deliver = inFlight;
  inFlight = [];
  for (const m of deliver) {
    const to = nodes.find((n) => n.pid === m.to);
    if (to?.up) to.core.handleIncoming(m);
  }
  for (const n of nodes.filter((x) => x.up)) {
    if (tick) n.core.tick();
    const out = n.core.takeOutgoingMessages();
    applyDecided(n);
    n.machine.takeEvents();
    n.store.commit();
    inFlight.push(...out);
  }
}

function runUntil(what: string, done: () => boolean, maxTurns = 2000): void {
  for (let i = 0; i < maxTurns; i++) {
    if (done()) return;
    turn(i % 2 === 0);
  }
  assert.fail(`${what}: not reached within ${maxTurns} turns`);
}

function leader(): Node {
  let l: Node | undefined;
  runUntil("a leader", () => {
    const ids = nodes.filter((n) => n.up).map((n) => n.core.getCurrentLeader());
    l = nodes.find((n) => n.up && ids.every((id) => id === n.pid));
    return l !== undefined;
  });
  return l!;
}

function appendAll(commands: Command[]): void {
  const l = leader();
  for (const c of commands) l.core.append(c);
  const target = l.core.getDecidedIdx() + commands.length;
  runUntil("appends decided and applied", () => nodes.filter((n) => n.up).every((n) => n.machine.appliedRevision >= target));
}

test("three cores on SQLite survive a crash, a snapshot and a restart with identical KV state", () => {
  for (const pid of [1, 2, 3]) nodes.push(boot(pid, join(root, `n${pid}`)));
  const commands = randomCommands(21, 600).map((c, i) => (c.kind === "put" || c.kind === "delete" ? { ...c, requestId: `req-${i}` } : c));
  appendAll(commands.slice(0, 200));

  // Crash a follower: stage something without committing, then lose the process.
  const victim = nodes.find((n) => n.pid !== leader().pid)!;
  victim.core.tick();
  victim.store.close();
  victim.up = false;
  appendAll(commands.slice(200, 450));

  // The leader folds its decided prefix into a snapshot (the victim is now behind the compacted prefix).
  const l = leader();
  l.core.snapshot();
  runUntil("the snapshot is durable", () => l.store.getCompactedIdx() > 200);
  assert.ok(l.store.getSnapshot() !== undefined, "the leader stored a snapshot");

  // Restart the victim from its data dir: construct a new core on the reopened store.
  Object.assign(victim, boot(victim.pid, victim.dir));
  appendAll(commands.slice(450));
  assert.ok((snapshotInstalls.get(victim.pid) ?? 0) > 0, "the restarted node caught up through the snapshot");
  assert.ok(victim.store.getCompactedIdx() >= 450, `the restarted node's log starts at ${victim.store.getCompactedIdx()}`);
  const replay = new KvStateMachine(new MemoryKvBackend());
  const decided = nodes[0]!.core.getDecidedIdx();
  let revision = 0;
  for (const c of commands) replay.apply(++revision, c);
  assert.equal(decided, commands.length, "every append decided exactly once");
  for (const n of nodes) {
    assert.equal(n.machine.appliedRevision, decided, `n${n.pid} applied everything`);
    assert.deepEqual(n.machine.exportState(), replay.exportState(), `n${n.pid} state equals the full replay`);
  }
  // And once more after a restart of everyone: the state comes back from disk alone.
  for (const n of nodes) {
    n.store.close();
    Object.assign(n, boot(n.pid, n.dir));
    assert.deepEqual(n.machine.exportState(), replay.exportState(), `n${n.pid} state after restart`);
  }
});

// The replica's flush with the fsync off the event loop (storage/wal-syncer.ts): while the leader's fdatasync
// has not completed, nothing that vouches for its disk leaves it. Three in-process replicas on real SQLite
// stores, wired message by message, with the leader's fdatasync callbacks held by the test:
//  - its AcceptDecide leaves at once (the followers' fsyncs run beside its own), but carries no decided index
//    past what the leader holds durably;
//  - a decision that counts the leader's own acceptance is not applied, answered or announced (Decide) until
//    the leader's fdatasync completes; then the write is answered and the followers learn it and apply it.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OmniPaxos } from "@omnimeta/omnipaxos";
import { Replica, proposalKey, type CoreMessage } from "../../src/node/replica.ts";
import { openNodeStore, type NodeStore } from "../../src/storage/node-store.ts";
import { storedKvSnapshotSpec, type KvSnapshot } from "../../src/state-machine/kv-snapshot.ts";
import type { Command } from "../../src/state-machine/command.ts";
import { resolveLimits } from "../../src/limits.ts";
import { parseUnsafeFlags } from "../../src/unsafe.ts";
import { ServerMetrics } from "../../src/metrics.ts";
import { silentLogger } from "../../src/log.ts";

const dirs: string[] = [];
const stores: NodeStore[] = [];
const replicas: Replica[] = [];
after(() => {
  for (const r of replicas) r.stop();
  for (const s of stores) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
// Waits for a condition that the replicas' own I/O (fdatasyncs on the threadpool, message hops) makes true.
// Bounded by wall time, not by a count of turns: a slow disk takes more turns, never a different order.
async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await tick();
  }
}

test("a leader's decision leaves, is applied and is answered only once its own acceptance is durable", async () => {
  const ids = [1, 2, 3];
  const byId = new Map<number, Replica>();
  const sent: CoreMessage[] = []; // everything node 1 sent, in order
  const held: Array<(err: Error | undefined) => void> = [];
  let holdLeaderSyncs = false;
  for (const id of ids) {
    const dir = mkdtempSync(join(tmpdir(), `omnimeta-replica-${id}-`));
    dirs.push(dir);
    const { store, stateMachine } = openNodeStore({ dataDir: dir, name: `n${id}` });
    stores.push(store);
    const core = new OmniPaxos<Command, KvSnapshot>(
      { cluster: { configurationId: 1, nodes: ids }, server: { pid: id, leaderPriority: id === 1 ? 1 : 0 } },
      store,
      { snapshot: storedKvSnapshotSpec(stateMachine), entryId: (c) => (c.kind === "put" || c.kind === "delete" ? proposalKey(c) : `x${Math.random()}`) },
    );
    const replica = new Replica(core, stateMachine, id, {
      commit: (o) => store.commit(o),
      syncWal: (done) => (id === 1 && holdLeaderSyncs ? held.push(done) : store.wal.sync(done)),
      syncWalNow: () => store.wal.syncNow(),
      send: (to, messages) => {
        if (id === 1) sent.push(...messages);
        setImmediate(() => byId.get(to)?.handleMessages(messages));
      },
      committed: () => {},
      offerSnapshot: () => undefined,
      offerInFlight: () => false,
      snapshotOffered: () => {},
      changed: () => {},
      leaderHint: () => undefined,
      fatal: (e) => assert.fail(`node ${id} stopped: ${String(e)}`),
      flushed: () => {},
      stopSignApplied: () => {},
    }, resolveLimits(undefined), parseUnsafeFlags(undefined), new ServerMetrics(), silentLogger);
    byId.set(id, replica);
    replicas.push(replica);
  }
  const leader = byId.get(1)!;
  const electedBy = Date.now() + 20_000;
  while (!(leader.isLeader() && leader.core.getStatus().phase === "accept") && Date.now() < electedBy) {
    for (const r of byId.values()) r.tick();
    await tick();
  }
  assert.ok(leader.isLeader(), "node 1 leads");
  const put = (key: string, requestId: string) =>
    leader.propose({ kind: "put", key, value: new Uint8Array([1]), precondition: { kind: "none" }, requestId });
  await put("warm", "r0"); // every node's log and durable index settle on the first write
  await until(() => [2, 3].every((id) => byId.get(id)!.appliedRevision >= leader.appliedRevision), "the followers apply the first write");
  const before = leader.appliedRevision;

  holdLeaderSyncs = true;
  sent.length = 0;
  let answered = false;
  const write = put("k", "r1").then((r) => ((answered = true), r));
  write.catch(() => {}); // a failed assertion below stops the replicas; the test reports that, not this
  const slot = before; // the write's slot
  // Let the AcceptDecide go out, both followers fsync and answer, and the leader decide.
  await until(() => held.length > 0, "the leader asks for an fdatasync of its log write");
  await until(() => leader.core.getDecidedIdx() > slot, "the followers' acceptances and the leader's own decide the slot");
  for (let i = 0; i < 50; i++) await tick(); // room for a premature answer, apply or Decide to show itself
  const accept = sent.find((m) => m.kind === "AcceptDecide");
  assert.ok(accept, "the AcceptDecide left before the leader's fsync");
  for (const m of sent) {
    if (m.kind === "AcceptDecide" || m.kind === "AcceptSync" || m.kind === "Decide") {
      assert.ok(m.decidedIdx <= slot, `${m.kind} to ${m.to} announced decided ${m.decidedIdx} before slot ${slot} was durable at the leader`);
    }
  }
  assert.equal(answered, false, "not answered before the leader's fdatasync");
  assert.equal(leader.appliedRevision, before, "not applied at the leader either");
  for (const id of [2, 3]) assert.equal(byId.get(id)!.appliedRevision, before, `node ${id} has not applied it`);

  holdLeaderSyncs = false;
  for (const done of held.splice(0)) done(undefined);
  const result = await write;
  assert.ok(result, "answered once durable");
  await until(() => [2, 3].every((id) => byId.get(id)!.appliedRevision > slot), "the followers apply the write");
  const decide = sent.find((m) => m.kind === "Decide" && m.decidedIdx > slot);
  assert.ok(decide, "the full decided index follows in a Decide once durable");
  for (const id of [2, 3]) assert.ok(byId.get(id)!.appliedRevision > slot, `node ${id} applied the write`);
});

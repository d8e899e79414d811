// The receiving side of a state transfer, on real SQLite files and byte streams: a staged snapshot is
// switched in only by the commit that records it (a crash before that loses the swap, never half of it),
// a torn or corrupt chunk is refused on arrival, and the CRC-32 fallback agrees with zlib's.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { openNodeStore, type NodeStore } from "../../src/storage/node-store.ts";
import { crc32, jsCrc32 } from "../../src/snapshot/crc32.ts";
import { CorruptChunkError, verifiedChunks } from "../../src/node/state-transfer.ts";
import type { KeyRecord } from "../../src/state-machine/kv-types.ts";

const dirs: string[] = [];
const open: NodeStore[] = [];
function openStore(dataDir: string) {
  const s = openNodeStore({ dataDir, name: "n1" });
  open.push(s.store);
  return s;
}
after(() => {
  for (const s of open) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "omnimeta-transfer-"));
  dirs.push(d);
  return d;
}

const rec = (key: string, value: string, rev: number): KeyRecord => ({ key, value: new TextEncoder().encode(value), version: 1, createRevision: rev, modRevision: rev });
const text = (r: KeyRecord | undefined) => (r === undefined ? undefined : new TextDecoder().decode(r.value));
const members = [{ nodeId: 1, name: "n1", address: "http://127.0.0.1:1", storageId: "s1" }];

/** A store whose own state is key "own" at revision 1, with a complete transfer "t1" staged (keys a, b at revision 50). */
async function storeWithStagedTransfer(dir: string) {
  const { store, stateMachine } = openStore(dir);
  store.kv.putKey(rec("own", "mine", 1));
  store.kv.setAppliedRevision(1);
  store.commit();
  await store.transfer.begin("t1");
  store.transfer.stage("t1", [rec("a", "from-peer", 10), rec("b", "from-peer", 50)], [["req-1", { revision: 50, result: { kind: "ok", revision: 50, version: 1, previousVersion: 0 } }]]);
  store.transfer.markComplete({ transferId: "t1", revision: 50, directory: { clusterId: "c1", members } });
  return { store, stateMachine };
}

test("a staged transfer is switched in by the commit that records its snapshot, with its revision, directory and de-dup records", async () => {
  const dir = tempDir();
  const { store, stateMachine } = await storeWithStagedTransfer(dir);
  assert.equal(text(store.kv.getKey("own")), "mine", "staging does not touch the live tables");
  store.setSnapshot(50, { kind: "staged", lastRevision: 50, transferId: "t1" });
  assert.deepEqual(store.getSnapshot(), { kind: "stored", lastRevision: 50 }, "recorded as a stored handle to the swapped-in tables");
  assert.equal(stateMachine.appliedRevision, 50);
  assert.equal(text(store.kv.getKey("a")), "from-peer", "reads before the commit see the new tables");
  assert.equal(store.kv.getKey("own"), undefined);
  assert.deepEqual(stateMachine.takeSnapshotJump(), { from: 1, to: 50 }, "watches learn the revisions they cannot be told");
  store.commit();
  store.close();

  const reopened = openStore(dir);
  assert.deepEqual(reopened.store.getSnapshot(), { kind: "stored", lastRevision: 50 });
  assert.equal(reopened.stateMachine.appliedRevision, 50);
  assert.equal(text(reopened.store.kv.getKey("b")), "from-peer");
  assert.equal(reopened.store.kv.getKey("own"), undefined);
  assert.equal(reopened.store.kv.getDedup("req-1")?.revision, 50);
  assert.deepEqual(reopened.store.kv.getDirectory(), { clusterId: "c1", members });
  assert.equal(reopened.store.getCompactedIdx(), 50);
});

test("a crash between the swap and its commit loses the swap whole: the old state, the old snapshot, and an emptied staging area", async () => {
  const dir = tempDir();
  const { store } = await storeWithStagedTransfer(dir);
  store.setSnapshot(50, { kind: "staged", lastRevision: 50, transferId: "t1" });
  assert.equal(text(store.kv.getKey("a")), "from-peer");
  store.close(); // no commit: as a SIGKILL would

  const reopened = openStore(dir);
  assert.equal(reopened.store.getSnapshot(), undefined);
  assert.equal(reopened.stateMachine.appliedRevision, 1);
  assert.equal(text(reopened.store.kv.getKey("own")), "mine");
  assert.equal(reopened.store.kv.getKey("a"), undefined, "no row of the half-installed transfer is live");
  await reopened.store.transfer.clear();
  assert.equal(reopened.store.transfer.completed("t1"), undefined, "a staged transfer does not survive a restart");
});

test("a staged snapshot that is not the complete transfer in the staging area is refused", async () => {
  const { store } = await storeWithStagedTransfer(tempDir());
  assert.throws(() => store.setSnapshot(50, { kind: "staged", lastRevision: 50, transferId: "other" }), /not complete in the staging area/);
  store.transfer.stage("t1", [rec("c", "x", 60)], []);
  assert.equal(store.transfer.completed("t1"), undefined, "staging more rows makes the transfer partial again");
  await store.transfer.begin("t2");
  assert.throws(() => store.transfer.stage("t1", [rec("stale", "x", 5)], []), /no longer owns the staging area/, "a superseded transfer cannot mix its rows into the next one");
});


test("a staging area emptied when it was already empty is still emptied before the next transfer: an offer fetched twice, then a newer one, leaves no row of the first", async () => {
  // jepsen seed 9090 --compaction-slots 100: a receiver fetched one offer twice (the core re-sent its
  // sync before the first was answered), then a newer offer from the next leader. clear() had kept a
  // finished promise from an emptying that found nothing to do, so every later clear() returned at once:
  // the second fetch's rows stayed under the newer transfer, and a key deleted since came back.
  const { store, stateMachine } = openStore(tempDir());
  await store.transfer.begin("A");
  store.transfer.stage("A", [rec("k0", "A", 10), rec("k1", "A", 10)], []);
  store.transfer.markComplete({ transferId: "A", revision: 50, directory: undefined });
  store.setSnapshot(50, { kind: "staged", lastRevision: 50, transferId: "A" });
  store.commit();
  await store.transfer.begin("A"); // the same offer again: the core will not install it twice
  store.transfer.stage("A", [rec("k0", "A", 10), rec("k1", "A", 10)], []);
  store.transfer.markComplete({ transferId: "A", revision: 50, directory: undefined });
  await store.transfer.begin("B"); // k1 was deleted at the sender before revision 100
  store.transfer.stage("B", [rec("k0", "B", 90)], []);
  store.transfer.markComplete({ transferId: "B", revision: 100, directory: undefined });
  store.setSnapshot(100, { kind: "staged", lastRevision: 100, transferId: "B" });
  store.commit();
  assert.equal(stateMachine.appliedRevision, 100);
  assert.equal(text(store.kv.getKey("k0")), "B");
  assert.equal(store.kv.getKey("k1"), undefined, "no row of an earlier transfer survives into a later one");
  assert.deepEqual(stateMachine.list("", "", 10).records.map((r) => r.key), ["k0"]);
});

test("a transfer is complete only if the staging area holds exactly the rows it staged (a repeated key is refused)", async () => {
  const { store } = openStore(tempDir());
  await store.transfer.begin("t1");
  store.transfer.stage("t1", [rec("a", "x", 10), rec("a", "y", 11)], []);
  assert.throws(() => store.transfer.markComplete({ transferId: "t1", revision: 20, directory: undefined }), /holds 1 keys .* staged 2/);
  assert.equal(store.transfer.completed("t1"), undefined);
});

test("the replaced state is emptied from the staging tables once the swap commits", async () => {
  const { store } = await storeWithStagedTransfer(tempDir());
  store.setSnapshot(50, { kind: "staged", lastRevision: 50, transferId: "t1" });
  assert.equal(store.transfer.rowCount(), 1, "until the commit, the replaced state (key own) is what a crash rolls back to");
  store.commit();
  await store.transfer.settled();
  assert.equal(store.transfer.rowCount(), 0);
});
test("chunks must continue the stream and match their CRC-32: a gap, a repeat or a flipped byte is refused", async () => {
  const data = [new TextEncoder().encode("first chunk"), new TextEncoder().encode("second chunk")];
  const chunk = (i: number, offset: number, mutate = false) => {
    const d = Uint8Array.from(data[i]!);
    const c = { offset: BigInt(offset), data: d, crc32: crc32(d) };
    if (mutate) d[0]! ^= 1;
    return c;
  };
  const drain = async (chunks: Array<{ offset: bigint; data: Uint8Array; crc32: number }>) => {
    const out: Uint8Array[] = [];
    for await (const d of verifiedChunks((async function* () { yield* chunks; })())) out.push(d);
    return out;
  };
  assert.equal((await drain([chunk(0, 0), chunk(1, data[0]!.length)])).length, 2);
  await assert.rejects(drain([chunk(0, 0), chunk(1, data[0]!.length, true)]), (e) => e instanceof CorruptChunkError && /CRC-32 mismatch/.test(e.message));
  await assert.rejects(drain([chunk(0, 0), chunk(1, data[0]!.length + 5)]), (e) => e instanceof CorruptChunkError && /torn/.test(e.message));
  await assert.rejects(drain([chunk(0, 0), chunk(0, 0)]), (e) => e instanceof CorruptChunkError && /torn/.test(e.message));
});

test("the CRC-32 fallback agrees with zlib's", () => {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  const samples = [new Uint8Array(0), new TextEncoder().encode("123456789"), Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff)];
  assert.equal(jsCrc32(samples[1]!), 0xcbf43926, "the standard check value");
  for (const s of samples) if (native) assert.equal(jsCrc32(s), native(s));
});

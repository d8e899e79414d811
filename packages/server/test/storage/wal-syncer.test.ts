// The WAL syncer: fdatasync off the event loop, callbacks in request order, a request made while one runs
// waits for the next (its commit may postdate the running one's start), syncNow releases everyone, and
// commit({ deferFsync }) reports the commits that need it. Real SQLite files.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WalSyncer } from "../../src/storage/wal-syncer.ts";
import { openNodeStore } from "../../src/storage/node-store.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "omnimeta-wal-"));
  dirs.push(d);
  return d;
}

test("requests made while an fdatasync runs wait for the next one; callbacks run in request order", async () => {
  const dir = tempDir();
  const path = join(dir, "x-wal");
  writeFileSync(path, "frames");
  const syncer = new WalSyncer(path);
  let fdatasyncs = 0;
  syncer.onSynced = () => fdatasyncs++;
  const order: string[] = [];
  const all = new Promise<void>((resolve) => {
    syncer.sync(() => order.push("a"));
    // "a" started an fdatasync: "b" and "c" may have committed after it began, so they need one more.
    syncer.sync(() => order.push("b"));
    syncer.sync((err) => {
      assert.equal(err, undefined);
      order.push("c");
      resolve();
    });
  });
  assert.equal(syncer.pending, true);
  assert.deepEqual(order, [], "nothing completes inside the call: the fdatasync runs on the thread pool");
  await all;
  assert.deepEqual(order, ["a", "b", "c"]);
  assert.equal(fdatasyncs, 2, "b and c share the second fdatasync (group commit)");
  assert.equal(syncer.pending, false);
  syncer.close();
});

test("syncNow makes everything durable at once and releases every waiter exactly once", async () => {
  const dir = tempDir();
  const path = join(dir, "x-wal");
  writeFileSync(path, "frames");
  const syncer = new WalSyncer(path);
  const calls: string[] = [];
  syncer.sync(() => calls.push("a"));
  syncer.sync(() => calls.push("b"));
  syncer.syncNow();
  assert.deepEqual(calls, ["a", "b"], "released inside syncNow");
  await new Promise((r) => setTimeout(r, 20)); // the fdatasync started by "a" completes: no second call
  assert.deepEqual(calls, ["a", "b"]);
  syncer.close();
});

test("a WAL file replaced under the syncer is synced through a descriptor of the new file", async () => {
  const dir = tempDir();
  const path = join(dir, "x-wal");
  writeFileSync(path, "old");
  const syncer = new WalSyncer(path);
  await new Promise<void>((r) => syncer.sync(() => r()));
  writeFileSync(join(dir, "new"), "new");
  renameSync(join(dir, "new"), path);
  const fresh = statSync(path).ino;
  await new Promise<void>((r) => syncer.sync(() => r()));
  assert.equal((syncer as unknown as { ino: number }).ino, fresh, "the syncer follows the path, not a stale inode");
  syncer.close();
});

test("a missing WAL file or a closed syncer fails the request instead of pretending it is durable", async () => {
  const dir = tempDir();
  const syncer = new WalSyncer(join(dir, "absent-wal"));
  const err = await new Promise<Error | undefined>((r) => syncer.sync(r));
  assert.match(String(err), /ENOENT/);
  syncer.close();
  const closed = await new Promise<Error | undefined>((r) => syncer.sync(r));
  assert.match(String(closed), /closed/);
});

test("commit({ deferFsync }) skips the fsync of a log write and says so; state-only commits need none; the rows survive a reopen", async () => {
  const dir = tempDir();
  let { store } = openNodeStore({ dataDir: dir, name: "n1" });
  store.kv.putKey({ key: "k", value: new Uint8Array([7]), version: 1, createRevision: 1, modRevision: 1 });
  store.kv.setAppliedRevision(1);
  const applyOnly = store.commit({ deferFsync: true });
  assert.equal(applyOnly.needsSync, false, "recomputable rows need no fsync at all");
  store.setPromise({ configurationId: 1, n: 3, priority: 0, pid: 1 });
  const promise = store.commit({ deferFsync: true });
  assert.deepEqual([promise.synced, promise.needsSync], [false, true]);
  await new Promise<void>((resolve, reject) => store.wal.sync((e) => (e ? reject(e) : resolve())));
  store.close();
  ({ store } = openNodeStore({ dataDir: dir, name: "n1" }));
  assert.deepEqual(store.getPromise(), { configurationId: 1, n: 3, priority: 0, pid: 1 });
  assert.equal(store.kv.getKey("k")?.version, 1);
  store.close();
});

// The SQLite store on real files: restart keeps what was committed and only that, staged writes are
// visible before commit, identity refusals, the data-dir lock and schema migrations.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StoredEntry } from "@omnimeta/omnipaxos";
import { openNodeStore, type NodeStore } from "../../src/storage/node-store.ts";
import { DataDirMismatchError } from "../../src/storage/identity.ts";
import { DataDirLockedError, DATABASE_FILE } from "../../src/storage/open-database.ts";
import { migrate, MIGRATIONS, SchemaTooNewError, SCHEMA_VERSION } from "../../src/storage/migrations.ts";
import type { Command } from "../../src/state-machine/command.ts";
import { KvStateMachine } from "../../src/state-machine/kv-state-machine.ts";
import { MemoryKvBackend } from "../../src/state-machine/memory-kv-backend.ts";
import { createKvSnapshot } from "../../src/state-machine/kv-snapshot.ts";
import { randomCommands } from "../state-machine/random-commands.ts";

const dirs: string[] = [];
const open: NodeStore[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "omnimeta-store-"));
  dirs.push(d);
  return d;
}
function openStore(dataDir: string, name = "n1", clusterId?: string) {
  const s = openNodeStore({ dataDir, name, ...(clusterId ? { clusterId } : {}) });
  open.push(s.store);
  return s;
}
after(() => {
  for (const s of open) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const entry = (key: string, value = "v"): StoredEntry<Command> => ({
  kind: "entry",
  entry: { kind: "put", key, value: new TextEncoder().encode(value), precondition: { kind: "none" }, requestId: `id-${key}` },
});
const keysOf = (slots: StoredEntry<Command>[]): string[] => slots.map((s) => (s.kind === "entry" && s.entry.kind === "put" ? s.entry.key : s.kind));
const ballot = { configurationId: 1, n: 3, priority: 0, pid: 2 };

test("a reopened store (a restart) has exactly the committed consensus state, log and keys", () => {
  const dir = tempDir();
  const { store, stateMachine } = openStore(dir);
  const storageId = store.identity.storageId;
  store.setPromise(ballot);
  store.setAcceptedRound(ballot);
  store.appendEntries([entry("a"), entry("b"), entry("c")]);
  store.setDecidedIdx(2);
  store.setConfiguration({ cluster: { configurationId: 1, nodes: [1, 2] }, metadata: new Uint8Array([9]) });
  store.setClusterId("cluster-x");
  store.setNodeId(2);
  store.setMeta("lifecycle", new Uint8Array([1]));
  for (const [i, s] of store.getEntries(0, 2).entries()) if (s.kind === "entry") stateMachine.apply(i + 1, s.entry);
  assert.ok(store.commit().writeCount > 0);
  store.close();

  const re = openStore(dir);
  assert.equal(re.store.identity.storageId, storageId);
  assert.equal(re.store.identity.clusterId, "cluster-x");
  assert.equal(re.store.identity.nodeId, 2);
  assert.deepEqual(re.store.getPromise(), ballot);
  assert.deepEqual(re.store.getAcceptedRound(), ballot);
  assert.equal(re.store.getDecidedIdx(), 2);
  assert.equal(re.store.getLogLen(), 3);
  assert.deepEqual(keysOf(re.store.getEntries(0, 3)), ["a", "b", "c"]);
  assert.deepEqual(re.store.getConfiguration(), { cluster: { configurationId: 1, nodes: [1, 2] }, metadata: new Uint8Array([9]) });
  assert.deepEqual(re.store.getMeta("lifecycle"), new Uint8Array([1]));
  assert.equal(re.stateMachine.appliedRevision, 2);
  assert.deepEqual(re.stateMachine.list("", "", 10).records.map((r) => [r.key, r.version]), [["a", 1], ["b", 1]]);
});

test("staged writes are visible before commit and lost by a restart without commit", () => {
  const dir = tempDir();
  const { store, stateMachine } = openStore(dir);
  store.appendEntries([entry("a")]);
  store.setDecidedIdx(1);
  stateMachine.apply(1, (store.getEntries(0, 1)[0] as { entry: Command }).entry);
  store.commit();
  store.setPromise(ballot);
  store.appendEntries([entry("b")]);
  store.appendOnPrefix(1, [entry("c"), entry("d")]);
  store.setDecidedIdx(3);
  stateMachine.apply(2, (store.getEntries(1, 2)[0] as { entry: Command }).entry);
  assert.equal(store.getLogLen(), 3);
  assert.deepEqual(keysOf(store.getEntries(0, 3)), ["a", "c", "d"]);
  assert.deepEqual(stateMachine.list("", "", 10).records.map((r) => r.key), ["a", "c"], "reads see staged KV writes");
  assert.equal(stateMachine.appliedRevision, 2);
  store.close(); // crash: nothing staged reaches the disk

  const re = openStore(dir);
  assert.equal(re.store.getPromise(), undefined);
  assert.equal(re.store.getLogLen(), 1);
  assert.equal(re.store.getDecidedIdx(), 1);
  assert.equal(re.stateMachine.appliedRevision, 1, "the apply and the applied index are lost together");
  assert.deepEqual(re.stateMachine.list("", "", 10).records.map((r) => r.key), ["a"]);
});

test("a commit of decisions alone (decided index, applied KV rows) skips its fsync; one with a log write, promise or configuration does not", () => {
  const dir = tempDir();
  const { store, stateMachine } = openStore(dir);
  store.appendEntries([entry("a"), entry("b")]);
  assert.equal(store.commit().synced, true, "a log write is fsynced before anything acknowledges it");
  store.setDecidedIdx(1);
  stateMachine.apply(1, (store.getEntries(0, 1)[0] as { entry: Command }).entry);
  assert.equal(store.commit().synced, false, "decided index and apply are recomputed from the durable log");
  store.setPromise(ballot);
  assert.equal(store.commit().synced, true);
  store.setDecidedIdx(2);
  store.setConfiguration({ cluster: { configurationId: 1, nodes: [1, 2] } });
  assert.equal(store.commit().synced, true);
  store.setDecidedIdx(2);
  stateMachine.apply(2, (store.getEntries(1, 2)[0] as { entry: Command }).entry);
  assert.equal(store.commit().synced, false);
  store.close();
  // An unsynced commit is still a commit (only a power loss may drop it, and only with what follows it):
  const re = openStore(dir);
  assert.equal(re.store.getDecidedIdx(), 2);
  assert.equal(re.stateMachine.appliedRevision, 2);
});

test("appendOnPrefix replaces a committed suffix durably", () => {
  const dir = tempDir();
  const { store } = openStore(dir);
  store.appendEntries(["a", "b", "c", "d"].map((k) => entry(k)));
  store.commit();
  assert.deepEqual(keysOf(store.getEntries(1, 4)), ["b", "c", "d"], "served from the cache");
  store.appendOnPrefix(2, [entry("x")]);
  assert.deepEqual(keysOf(store.getEntries(0, 3)), ["a", "b", "x"]);
  store.commit();
  store.appendEntries([entry("y")]);
  store.commit();
  store.close();
  const re = openStore(dir);
  assert.deepEqual(keysOf(re.store.getEntries(0, re.store.getLogLen())), ["a", "b", "x", "y"]);
});

test("trim and setSnapshot keep absolute indexes, also past the end of the log", () => {
  const dir = tempDir();
  const { store } = openStore(dir);
  const commands = randomCommands(4, 10);
  store.appendEntries(commands.map((c) => ({ kind: "entry" as const, entry: c })));
  store.commit();
  store.trim(4);
  assert.equal(store.getCompactedIdx(), 4);
  assert.deepEqual(store.getEntries(4, 6), commands.slice(4, 6).map((c) => ({ kind: "entry", entry: c })));
  store.commit();
  const snap = createKvSnapshot(commands, 0);
  store.setSnapshot(15, snap);
  assert.equal(store.getLogLen(), 15);
  assert.equal(store.getCompactedIdx(), 15);
  store.commit();
  store.close();
  const re = openStore(dir);
  assert.equal(re.store.getCompactedIdx(), 15);
  assert.equal(re.store.getLogLen(), 15);
  assert.deepEqual(re.store.getSnapshot(), snap);
  re.store.appendEntries([entry("z")]);
  re.store.commit();
  assert.deepEqual(keysOf(re.store.getEntries(15, 16)), ["z"]);
});

for (const bound of [{ logCacheEntriesMax: 3 }, { logCacheBytesMax: 100 }]) {
  test(`log reads beyond the in-memory cache come from SQLite (${JSON.stringify(bound)})`, () => {
    const dir = tempDir();
    const s = openNodeStore({ dataDir: dir, name: "n1", ...bound });
    open.push(s.store);
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    for (const k of keys) {
      s.store.appendEntries([entry(k, "x".repeat(30))]);
      s.store.commit();
    }
    s.store.appendOnPrefix(9, [entry("k9b")]);
    s.store.commit();
    const expected = [...keys.slice(0, 9), "k9b"];
    assert.deepEqual(keysOf(s.store.getEntries(0, 10)), expected);
    assert.deepEqual(keysOf(s.store.getEntries(2, 8)), expected.slice(2, 8));
  });
}

test("the KV state on SQLite equals the in-memory replay, across commits and a restart", () => {
  const dir = tempDir();
  const commands = randomCommands(11, 600);
  let { store, stateMachine } = openStore(dir);
  const memory = new KvStateMachine(new MemoryKvBackend());
  commands.forEach((c, i) => {
    assert.deepEqual(stateMachine.apply(i + 1, c), memory.apply(i + 1, c), `revision ${i + 1}`);
    if (i % 7 === 0) store.commit();
    if (i === 300) {
      store.commit();
      store.close();
      ({ store, stateMachine } = openStore(dir));
    }
  });
  assert.deepEqual(stateMachine.exportState(), memory.exportState(), "before commit (staged overlay)");
  assert.deepEqual(stateMachine.list("k/", "k/2", 3), memory.list("k/", "k/2", 3));
  store.commit();
  assert.deepEqual(stateMachine.exportState(), memory.exportState(), "after commit");
  const filter = { key: "k/1", prefix: false };
  assert.deepEqual(stateMachine.readEvents(filter, 1, 1000), memory.readEvents(filter, 1, 1000));
});

test("installing a full snapshot replaces the KV state and moves the watch floor", () => {
  const dir = tempDir();
  const commands = randomCommands(12, 200);
  const { store, stateMachine } = openStore(dir);
  commands.slice(0, 50).forEach((c, i) => stateMachine.apply(i + 1, c));
  store.commit();
  stateMachine.installSnapshot(createKvSnapshot(commands, 0));
  store.commit();
  const memory = new KvStateMachine(new MemoryKvBackend());
  commands.forEach((c, i) => memory.apply(i + 1, c));
  assert.deepEqual(stateMachine.exportState(), memory.exportState());
  assert.throws(() => stateMachine.readEvents({ key: "", prefix: true }, 100, 10), /oldest retained revision is 201/);
});

test("a data dir made by another node name or cluster is refused with one readable line", () => {
  const dir = tempDir();
  const { store } = openStore(dir, "alpha");
  store.setClusterId("c-1");
  store.commit();
  store.close();
  assert.throws(() => openStore(dir, "beta"), (e: unknown) =>
    e instanceof DataDirMismatchError && !e.message.includes("\n") && e.message.includes('belongs to node "alpha" of cluster c-1, not "beta"'));
  assert.throws(() => openStore(dir, "alpha", "c-2"), (e: unknown) => e instanceof DataDirMismatchError && /belongs to cluster c-1, not c-2/.test(e.message));
  const ok = openStore(dir, "alpha", "c-1");
  assert.throws(() => ok.store.setClusterId("c-3"), DataDirMismatchError);
});

test("each data dir gets its own random storage id", () => {
  const a = openStore(tempDir()).store.identity.storageId;
  const b = openStore(tempDir()).store.identity.storageId;
  assert.match(a, /^[0-9a-f-]{36}$/);
  assert.notEqual(a, b);
});

test("a second process (or handle) on the same data dir is refused while the first holds it", () => {
  const dir = tempDir();
  const first = openStore(dir);
  assert.throws(() => openStore(dir), (e: unknown) => e instanceof DataDirLockedError && /in use by another metad process/.test(e.message));
  first.store.close();
  assert.doesNotThrow(() => openStore(dir));
});

test("migrations run once, in one transaction, and a newer schema is refused", () => {
  const dir = tempDir();
  openStore(dir).store.close();
  const db = new Database(join(dir, DATABASE_FILE));
  assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION);
  const next = [
    { version: SCHEMA_VERSION + 1, description: "t1", sql: "CREATE TABLE t1 (x INTEGER)" },
    { version: SCHEMA_VERSION + 2, description: "broken", sql: "CREATE TABLE t2 (x INTEGER); SELECT * FROM missing_table" },
  ];
  assert.throws(() => migrate(db, next), /no such table/);
  assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION, "the failed batch left the version alone");
  const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('t1', 't2')").get() as { n: number };
  assert.equal(tables.n, 0, "nothing of the failed batch remains");
  assert.equal(migrate(db, next.slice(0, 1)), SCHEMA_VERSION);
  assert.equal(db.pragma("user_version", { simple: true }), SCHEMA_VERSION + 1);
  db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
  db.close();
  assert.throws(() => openStore(dir), (e: unknown) => e instanceof SchemaTooNewError && /newer than this metad supports/.test(e.message));
});

test("a trim of many slots is recorded at once, its rows deleted a bounded number per commit; nothing below the start is ever read", () => {
  const dir = tempDir();
  const { store } = openStore(dir);
  const n = 10_000;
  const all = Array.from({ length: n }, (_, i) => entry(`k${i}`));
  store.appendEntries(all);
  store.commit();
  const rows = () => ((store as unknown as { db: Database.Database }).db.prepare("SELECT count(*) AS n FROM log").get() as { n: number }).n;
  store.trim(9_000);
  const trimCommit = store.commit();
  assert.ok(trimCommit.durationMs >= 0);
  assert.equal(store.getLogLen(), n);
  assert.deepEqual(keysOf(store.getEntries(9_000, 9_001)), ["k9000"]);
  assert.throws(() => store.getEntries(8_999, 9_001), /outside \[9000, 10000\]/, "the trimmed prefix is gone for readers at once");
  const left = rows();
  assert.ok(left > 1_000 && left < n, `one commit deleted some rows but not all 9,000 (${left} rows left)`);
  store.close();

  const re = openStore(dir);
  assert.throws(() => re.store.getEntries(8_999, 9_001), /outside \[9000, 10000\]/, "after a restart too");
  assert.deepEqual(keysOf(re.store.getEntries(9_000, 9_001)), ["k9000"]);
  for (let i = 0; i < 10; i++) {
    re.store.appendEntries([entry(`more${i}`)]);
    re.store.commit();
  }
  const reRows = ((re.store as unknown as { db: Database.Database }).db.prepare("SELECT count(*) AS n FROM log").get() as { n: number }).n;
  assert.equal(reRows, 1_000 + 10, "later commits reclaimed the rest");
  assert.deepEqual(keysOf(re.store.getEntries(9_000, 10_010)).slice(-1), ["more9"]);
});

test("migration 3 turns kv into a rowid table and keeps every row (values no longer spill to overflow pages)", () => {
  const dir = tempDir();
  const db = new Database(join(dir, DATABASE_FILE));
  migrate(db, MIGRATIONS.filter((m) => m.version <= 2));
  const value = Buffer.alloc(1024, 7);
  const insert = db.prepare("INSERT INTO kv (key, value, version, create_rev, mod_rev) VALUES (?, ?, ?, ?, ?)");
  for (let i = 0; i < 50; i++) insert.run(`k${String(i).padStart(2, "0")}`, value, i + 1, 10 + i, 20 + i);
  assert.match(String((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'kv'").get() as { sql: string }).sql), /WITHOUT ROWID/);
  db.close();
  const { store, stateMachine } = openStore(dir);
  const listed = stateMachine.list("", "", 100).records;
  assert.equal(listed.length, 50);
  assert.deepEqual(listed[7], { key: "k07", value: new Uint8Array(value), version: 8, createRevision: 17, modRevision: 27 });
  store.close();
  const after = new Database(join(dir, DATABASE_FILE), { readonly: true });
  for (const table of ["kv", "transfer_kv"]) {
    const sql = (after.prepare("SELECT sql FROM sqlite_master WHERE name = ?").get(table) as { sql: string }).sql;
    assert.doesNotMatch(sql, /WITHOUT ROWID/, `${table} is a rowid table`);
  }
  after.close();
});

test("the database runs in WAL mode with synchronous=FULL", () => {
  const dir = tempDir();
  openStore(dir).store.close();
  const db = new Database(join(dir, DATABASE_FILE));
  assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
  db.close();
  const { store } = openStore(dir);
  // synchronous is per connection: read it through the store's own connection.
  assert.equal((store as unknown as { db: Database.Database }).db.pragma("synchronous", { simple: true }), 2);
});

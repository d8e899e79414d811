// Opens (creating if needed) the node's SQLite database in its data dir: WAL, synchronous=FULL,
// exclusive locking so a second process on the same data dir fails at once, then migrations.

import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { migrate } from "./migrations.ts";

export const DATABASE_FILE = "omnimeta.sqlite";

/** The data dir is held by another running process. */
export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

export function openDatabase(dataDir: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, DATABASE_FILE);
  const db = new Database(path);
  try {
    // EXCLUSIVE before WAL: the WAL index lives in heap memory and the write lock is kept.
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    // 4 MiB of page cache: the OS page cache holds the file anyway, and a 16 MiB cache filled to the brim in
    // every state transfer (200 MB of rows written) and every large state, on every node.
    db.pragma("cache_size = -4096");
    db.pragma("wal_autocheckpoint = 4000");
    // Take the write lock now, so that a second process fails here and not in the middle of a commit.
    db.exec("BEGIN IMMEDIATE; COMMIT;");
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code === "SQLITE_BUSY") {
      throw new DataDirLockedError(`data dir ${dataDir} is in use by another metad process`);
    }
    throw e;
  }
}

/**
 * Runs `fn` (one transaction) with synchronous=NORMAL: committed to the WAL without its fsync. Only for
 * writes that may be lost in a crash; the next fsynced commit makes them durable too (the WAL is one
 * append-only file).
 */
export function withoutFsync<R>(db: Database.Database, fn: () => R): R {
  let toggles = syncToggles.get(db);
  if (toggles === undefined) {
    // Prepared once: db.pragma() parses its statement on every call, and this runs on every flush.
    toggles = { normal: db.prepare("PRAGMA synchronous = NORMAL"), full: db.prepare("PRAGMA synchronous = FULL"), transactions: new WeakMap() };
    syncToggles.set(db, toggles);
  }
  // The transaction wrapper is made once per function: db.transaction() builds one on every call (~8 µs,
  // twice per put on every node).
  let tx = toggles.transactions.get(fn);
  if (tx === undefined) {
    tx = db.transaction(fn);
    toggles.transactions.set(fn, tx);
  }
  toggles.normal.run();
  try {
    return tx() as R;
  } finally {
    toggles.full.run();
  }
}

const syncToggles = new WeakMap<
  Database.Database,
  { normal: Database.Statement; full: Database.Statement; transactions: WeakMap<() => unknown, () => unknown> }
>();

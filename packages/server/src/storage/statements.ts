// Every SQL statement of the store, prepared once per database. Reading the whole storage layer's
// SQL takes one file.

import type { Database, Statement } from "better-sqlite3";

export interface Statements {
  stateGet: Statement<[string], { value: Buffer }>;
  stateAll: Statement<[], { name: string; value: Buffer }>;
  stateSet: Statement<[string, Uint8Array]>;
  stateDelete: Statement<[string]>;

  logGet: Statement<[number], { entry: Buffer }>;
  logRange: Statement<[number, number], { idx: number; entry: Buffer }>;
  logMaxIdx: Statement<[], { idx: number | null }>;
  logMinIdx: Statement<[], { idx: number | null }>;
  logInsert: Statement<[number, Uint8Array]>;
  logDeleteFrom: Statement<[number]>;
  logDeleteRange: Statement<[number, number]>;

  kvGet: Statement<[string], KvRow>;
  kvListAfter: Statement<[string], KvRow>;
  kvListFrom: Statement<[string], KvRow>;
  kvAll: Statement<[], KvRow>;
  kvUpsert: Statement<[string, Uint8Array, number, number, number]>;
  kvDelete: Statement<[string]>;
  kvClear: Statement<[]>;

  dedupGet: Statement<[string], { revision: number; result: Buffer }>;
  dedupAll: Statement<[], { request_id: string; revision: number; result: Buffer }>;
  dedupUpsert: Statement<[string, number, Uint8Array]>;
  dedupPrune: Statement<[number]>;
  dedupClear: Statement<[]>;

  historyInsert: Statement<[number, number, string, Uint8Array, number, number]>;
  historyFrom: Statement<[number], HistoryRow>;
  historySizes: Statement<[], { revision: number; bytes: number }>;
  historyDeleteBelow: Statement<[number]>;
  historyClear: Statement<[]>;
}

export interface KvRow {
  key: string;
  value: Buffer;
  version: number;
  create_rev: number;
  mod_rev: number;
}

export interface HistoryRow {
  revision: number;
  type: number;
  key: string;
  value: Buffer;
  version: number;
  create_rev: number;
}

export function prepareStatements(db: Database): Statements {
  return {
    stateGet: db.prepare("SELECT value FROM state WHERE name = ?"),
    stateAll: db.prepare("SELECT name, value FROM state"),
    stateSet: db.prepare("INSERT INTO state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
    stateDelete: db.prepare("DELETE FROM state WHERE name = ?"),

    logGet: db.prepare("SELECT entry FROM log WHERE idx = ?"),
    logRange: db.prepare("SELECT idx, entry FROM log WHERE idx >= ? AND idx < ? ORDER BY idx"),
    logMaxIdx: db.prepare("SELECT max(idx) AS idx FROM log"),
    logMinIdx: db.prepare("SELECT min(idx) AS idx FROM log"),
    logInsert: db.prepare("INSERT OR REPLACE INTO log (idx, entry) VALUES (?, ?)"),
    logDeleteFrom: db.prepare("DELETE FROM log WHERE idx >= ?"),
    logDeleteRange: db.prepare("DELETE FROM log WHERE idx >= ? AND idx < ?"),

    kvGet: db.prepare("SELECT key, value, version, create_rev, mod_rev FROM kv WHERE key = ?"),
    kvListAfter: db.prepare("SELECT key, value, version, create_rev, mod_rev FROM kv WHERE key > ? ORDER BY key"),
    kvListFrom: db.prepare("SELECT key, value, version, create_rev, mod_rev FROM kv WHERE key >= ? ORDER BY key"),
    kvAll: db.prepare("SELECT key, value, version, create_rev, mod_rev FROM kv ORDER BY key"),
    kvUpsert: db.prepare(
      "INSERT INTO kv (key, value, version, create_rev, mod_rev) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, " +
        "create_rev = excluded.create_rev, mod_rev = excluded.mod_rev",
    ),
    kvDelete: db.prepare("DELETE FROM kv WHERE key = ?"),
    kvClear: db.prepare("DELETE FROM kv"),

    dedupGet: db.prepare("SELECT revision, result FROM dedup WHERE request_id = ?"),
    dedupAll: db.prepare("SELECT request_id, revision, result FROM dedup ORDER BY request_id"),
    dedupUpsert: db.prepare(
      "INSERT INTO dedup (request_id, revision, result) VALUES (?, ?, ?) " +
        "ON CONFLICT (request_id) DO UPDATE SET revision = excluded.revision, result = excluded.result",
    ),
    dedupPrune: db.prepare("DELETE FROM dedup WHERE revision <= ?"),
    dedupClear: db.prepare("DELETE FROM dedup"),

    historyInsert: db.prepare("INSERT OR REPLACE INTO watch_history (revision, type, key, value, version, create_rev) VALUES (?, ?, ?, ?, ?, ?)"),
    historyFrom: db.prepare("SELECT revision, type, key, value, version, create_rev FROM watch_history WHERE revision >= ? ORDER BY revision"),
    historySizes: db.prepare("SELECT revision, length(CAST(key AS BLOB)) + length(value) + 32 AS bytes FROM watch_history ORDER BY revision"),
    historyDeleteBelow: db.prepare("DELETE FROM watch_history WHERE revision < ?"),
    historyClear: db.prepare("DELETE FROM watch_history"),
  };
}

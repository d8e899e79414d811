// Versioned schema migrations of the node's SQLite database. The schema version lives in
// PRAGMA user_version; every pending migration runs in ONE transaction with the version bump.

import type { Database } from "better-sqlite3";

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** Append only: never edit a released migration, add the next version instead. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "consensus state, log, key-value table, de-dup, watch history",
    sql: `
      CREATE TABLE state (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE log (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL);
      CREATE TABLE kv (
        key TEXT PRIMARY KEY, value BLOB NOT NULL, version INTEGER NOT NULL,
        create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE dedup (request_id TEXT PRIMARY KEY, revision INTEGER NOT NULL, result BLOB NOT NULL) WITHOUT ROWID;
      CREATE INDEX dedup_by_revision ON dedup (revision);
      CREATE TABLE watch_history (
        revision INTEGER PRIMARY KEY, type INTEGER NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
        version INTEGER NOT NULL, create_rev INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: "staging tables of a snapshot being received (state transfer)",
    // Same shape as kv and dedup: a received snapshot is written here chunk by chunk and swapped in by
    // renaming (storage/transfer-staging.ts), so the switch is O(1) and atomic with the snapshot record.
    sql: `
      CREATE TABLE transfer_kv (
        key TEXT PRIMARY KEY, value BLOB NOT NULL, version INTEGER NOT NULL,
        create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE transfer_dedup (request_id TEXT PRIMARY KEY, revision INTEGER NOT NULL, result BLOB NOT NULL) WITHOUT ROWID;
      CREATE INDEX transfer_dedup_by_revision ON transfer_dedup (revision);
    `,
  },
  {
    version: 3,
    description: "kv and transfer_kv as rowid tables (values stay on the row's page)",
    // A WITHOUT ROWID table keeps its rows in an index b-tree, whose rows may hold only ~1000 bytes on a
    // 4 KiB page: every value of 1 KiB or more spilled to an overflow page of its own. 200,000 values of
    // 1 KiB took 937 MB instead of ~250 MB, and an insert, get or update cost 3-5x as much (measured:
    // 200k inserts 6.2 s -> 1.6 s, get 37 -> 8 us, upsert 64 -> 19 us). A rowid table stores rows of up
    // to ~4 KiB on its page and packs larger ones into full overflow pages; the key keeps its unique index
    // (same binary order). The rows are copied once, in the migration's transaction.
    sql: `
      CREATE TABLE kv_rowid (
        key TEXT PRIMARY KEY, value BLOB NOT NULL, version INTEGER NOT NULL,
        create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL
      );
      INSERT INTO kv_rowid (key, value, version, create_rev, mod_rev) SELECT key, value, version, create_rev, mod_rev FROM kv ORDER BY key;
      DROP TABLE kv;
      ALTER TABLE kv_rowid RENAME TO kv;
      CREATE TABLE transfer_kv_rowid (
        key TEXT PRIMARY KEY, value BLOB NOT NULL, version INTEGER NOT NULL,
        create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL
      );
      DROP TABLE transfer_kv;
      ALTER TABLE transfer_kv_rowid RENAME TO transfer_kv;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Thrown when the database was written by a newer omnimeta (unknown schema version). */
export class SchemaTooNewError extends Error {
  override name = "SchemaTooNewError";
}

/** Brings the database to the latest schema; returns the version it found. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const found = db.pragma("user_version", { simple: true }) as number;
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
  if (found > latest) {
    throw new SchemaTooNewError(`database schema version ${found} is newer than this metad supports (${latest}); upgrade metad`);
  }
  const pending = migrations.filter((m) => m.version > found);
  if (pending.length === 0) return found;
  db.transaction(() => {
    for (const m of pending) {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }
  }).immediate();
  return found;
}

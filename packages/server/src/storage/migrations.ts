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

// A consistent read of the node's committed state at one applied revision: an online backup of the
// SQLite database into a private file of the data dir, then read row by row (never as one object).
// The node's own connection is exclusive (one process per data dir), hence the copy.

import Database from "better-sqlite3";
import { randomUUID } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { MemberDirectory } from "../state-machine/kv-backend.ts";
import { decodeDedupValue, type DedupRecord, type KeyRecord } from "../state-machine/kv-types.ts";
import { decodeDirectory, DIRECTORY } from "../storage/sqlite-kv-backend.ts";
import { decodeNumber } from "../storage/staged-state.ts";
import type { KvRow } from "../storage/statements.ts";

const COPY_PREFIX = "snapshot-copy-";

/** What can make the copy: the node's store (SqliteStore.backupTo). */
export interface BackupSource {
  backupTo(path: string): Promise<void>;
}

export class SqliteSnapshotSource {
  private constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    /** close() removes the copy (false: another owner shares it, snapshot-offers.ts). */
    private readonly owned: boolean,
    /** The applied revision of the copy: every key below is as of this revision. */
    readonly revision: number,
    readonly keyCount: number,
  ) {}

  /** Copies the committed state of `store` (whose data dir is `dataDir`) and opens the copy. */
  static async open(store: BackupSource, dataDir: string): Promise<SqliteSnapshotSource> {
    const path = await SqliteSnapshotSource.copy(store, dataDir);
    try {
      return SqliteSnapshotSource.openCopy(path, true);
    } catch (e) {
      removeCopy(path);
      throw e;
    }
  }

  /** Makes a copy of the committed state of `store` in `dataDir`; returns its path (removeCopy() it). */
  static async copy(store: BackupSource, dataDir: string): Promise<string> {
    const path = join(dataDir, `${COPY_PREFIX}${randomUUID()}.sqlite`);
    try {
      await store.backupTo(path);
      return path;
    } catch (e) {
      removeCopy(path);
      throw e;
    }
  }

  /** Opens a copy made by copy(); each reader of one copy opens its own connection (one statement iterates at a time per connection). */
  static openCopy(path: string, owned: boolean): SqliteSnapshotSource {
    const db = new Database(path, { fileMustExist: true });
    try {
      const applied = db.prepare<[string], { value: Buffer }>("SELECT value FROM state WHERE name = ?").get("applied_revision");
      const count = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM kv").get()!.n;
      return new SqliteSnapshotSource(db, path, owned, decodeNumber(applied?.value, 0), count);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** Every key, ascending (SQLite's binary order of UTF-8, the store's key order), read lazily. */
  *keys(): Generator<KeyRecord> {
    const rows = this.db.prepare<[], KvRow>("SELECT key, value, version, create_rev, mod_rev FROM kv ORDER BY key").iterate();
    for (const row of rows) {
      yield { key: row.key, value: new Uint8Array(row.value.buffer, row.value.byteOffset, row.value.length), version: row.version, createRevision: row.create_rev, modRevision: row.mod_rev };
    }
  }

  dedupCount(): number {
    return this.db.prepare<[], { n: number }>("SELECT count(*) AS n FROM dedup").get()!.n;
  }

  /** Every de-dup record, by request id, read lazily. */
  *dedup(): Generator<[string, DedupRecord]> {
    const rows = this.db.prepare<[], { request_id: string; revision: number; result: Buffer }>("SELECT request_id, revision, result FROM dedup ORDER BY request_id").iterate();
    for (const row of rows) yield [row.request_id, decodeDedupValue(row.revision, row.result)];
  }

  /** The member directory the state machine keeps (undefined before the first one). */
  directory(): MemberDirectory | undefined {
    const row = this.db.prepare<[string], { value: Buffer }>("SELECT value FROM state WHERE name = ?").get(DIRECTORY);
    return row === undefined ? undefined : decodeDirectory(row.value);
  }

  close(): void {
    this.db.close();
    if (this.owned) removeCopy(this.path);
  }
}

export function removeCopy(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(path + suffix, { force: true });
}

/** Removes copies left behind by a crash during a snapshot (called when the node starts). */
export function removeStaleSnapshotCopies(dataDir: string): void {
  let names: string[];
  try {
    names = readdirSync(dataDir);
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith(COPY_PREFIX)) rmSync(join(dataDir, name), { force: true });
}

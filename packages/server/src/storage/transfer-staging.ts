// The staging area of a snapshot being received from a peer: tables transfer_kv and transfer_dedup, the
// same shape as kv and dedup. A transfer writes its chunks here as they arrive, and the snapshot is
// switched in by renaming the tables (swapIn), inside the store's next commit: atomic with the snapshot
// record and the compacted index, O(1) whatever the state's size, and never half-used, because a half-
// received transfer never reaches swapIn and the area is emptied before each transfer and at start.
//
// Chunk writes are not fsynced: the area is useless after a crash (it is emptied at start), and the commit
// that swaps it in is fsynced, which makes every earlier WAL frame durable with it.

import type { Database, Statement } from "better-sqlite3";
import type { MemberDirectory } from "../state-machine/kv-backend.ts";
import { encodeDedupValue, type DedupRecord, type KeyRecord } from "../state-machine/kv-types.ts";
import { withoutFsync } from "./open-database.ts";

/** Rows deleted per event-loop turn while emptying the area (a turn stays well under a millisecond or two). */
const clearRowsPerTurn = 4096;
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** What a complete transfer brings besides its rows. */
export interface StagedTransfer {
  transferId: string;
  /** The applied revision the rows stand for. */
  revision: number;
  directory: MemberDirectory | undefined;
}

export class TransferStaging {
  private readonly insertKey: Statement<[string, Uint8Array, number, number, number]>;
  private readonly insertDedup: Statement<[string, number, Uint8Array]>;
  private readonly deleteKeys: Statement<[number]>;
  private readonly deleteDedup: Statement<[number]>;
  /** The transfer whose rows are all here, ready for swapIn (undefined while empty, partial or swapped). */
  private complete: StagedTransfer | undefined;
  /** The area holds rows that are not a complete transfer (a partial one, or the state swapped out). */
  private dirty = true;
  private clearing: Promise<void> | undefined;
  /** The transfer that may write here now (begin()); rows of any other are refused. */
  private owner: string | undefined;
  /** Rows stage() wrote since the area was last emptied: markComplete checks the tables hold exactly these. */
  private keysStaged = 0;
  private dedupStaged = 0;
  private readonly countKeys: Statement<[], { n: number }>;
  private readonly countDedup: Statement<[], { n: number }>;

  constructor(private readonly db: Database) {
    this.insertKey = db.prepare("INSERT OR REPLACE INTO transfer_kv (key, value, version, create_rev, mod_rev) VALUES (?, ?, ?, ?, ?)");
    this.insertDedup = db.prepare("INSERT OR REPLACE INTO transfer_dedup (request_id, revision, result) VALUES (?, ?, ?)");
    this.deleteKeys = db.prepare("DELETE FROM transfer_kv WHERE key IN (SELECT key FROM transfer_kv LIMIT ?)");
    this.deleteDedup = db.prepare("DELETE FROM transfer_dedup WHERE request_id IN (SELECT request_id FROM transfer_dedup LIMIT ?)");
    this.countKeys = db.prepare("SELECT count(*) AS n FROM transfer_kv");
    this.countDedup = db.prepare("SELECT count(*) AS n FROM transfer_dedup");
  }

  /** Empties the area a few thousand rows per turn (the node keeps serving); resolves when it is empty. */
  clear(): Promise<void> {
    this.complete = undefined;
    if (!this.dirty) return Promise.resolve();
    if (this.clearing === undefined) {
      // Assigned before it can end: an emptying that finds the area empty ends within this call, and a
      // `this.clearing ??= (async () => { ...finally { this.clearing = undefined } })()` then stored the
      // finished promise after its own reset, so every later clear() returned at once and left the rows of
      // an earlier transfer under the next one (jepsen seed 9090 --compaction-slots 100: a key deleted at
      // the sender came back at a receiver; test "a staging area emptied ..." in transfer-staging.test.ts).
      const emptying = this.empty();
      this.clearing = emptying;
      const done = (): void => {
        if (this.clearing === emptying) this.clearing = undefined;
      };
      emptying.then(done, done);
    }
    return this.clearing;
  }

  private async empty(): Promise<void> {
    for (;;) {
      if (!this.db.open) return; // the node stopped: the next start empties the area
      // Never inside the store's open swap transaction (swapIn): wait for its commit.
      if (this.db.inTransaction) {
        await nextTurn();
        continue;
      }
      const deleted = withoutFsync(this.db, () => this.deleteKeys.run(clearRowsPerTurn).changes + this.deleteDedup.run(clearRowsPerTurn).changes);
      if (deleted === 0) break;
      await nextTurn();
    }
    this.dirty = false;
    this.keysStaged = 0;
    this.dedupStaged = 0;
  }

  /**
   * Empties the area for transfer `transferId`, which from then on is the only one that may stage rows: a
   * transfer that was superseded while it still had decoded rows in hand can never mix them into the next
   * one (jepsen seed 9090, --compaction-slots 100, found a deleted key resurrected that way).
   */
  async begin(transferId: string): Promise<void> {
    this.owner = transferId;
    await this.clear();
    if (this.owner !== transferId) throw new Error(`transfer ${transferId} was superseded while the staging area was emptied`);
  }

  /** Writes one chunk's rows of transfer `transferId` (after begin(); one transaction, no fsync). */
  stage(transferId: string, keys: readonly KeyRecord[], dedup: ReadonlyArray<[string, DedupRecord]>): void {
    if (this.owner !== transferId) throw new Error(`transfer ${transferId} no longer owns the staging area`);
    if (keys.length === 0 && dedup.length === 0) return;
    this.dirty = true;
    this.complete = undefined;
    withoutFsync(this.db, () => {
      for (const k of keys) this.insertKey.run(k.key, k.value, k.version, k.createRevision, k.modRevision);
      for (const [id, rec] of dedup) this.insertDedup.run(id, rec.revision, encodeDedupValue(rec));
    });
    this.keysStaged += keys.length;
    this.dedupStaged += dedup.length;
  }

  /** Resolves when an emptying under way (if any) has finished. */
  settled(): Promise<void> {
    return this.clearing ?? Promise.resolve();
  }

  /** Rows in the staging tables now (keys + de-dup records). */
  rowCount(): number {
    return this.countKeys.get()!.n + this.countDedup.get()!.n;
  }

  /** Every row of `transfer` is staged (its stream ended and checked out). */
  markComplete(transfer: StagedTransfer): void {
    if (this.owner !== transfer.transferId) throw new Error(`transfer ${transfer.transferId} no longer owns the staging area`);
    // The area must hold this transfer's rows and nothing else: a row left by another transfer would be
    // swapped in as state (a key deleted at the sender, back at the receiver). One count per transfer.
    const keys = this.countKeys.get()!.n;
    const dedup = this.countDedup.get()!.n;
    if (keys !== this.keysStaged || dedup !== this.dedupStaged) {
      throw new Error(`the staging area holds ${keys} keys and ${dedup} de-dup records, but transfer ${transfer.transferId} staged ${this.keysStaged} and ${this.dedupStaged}`);
    }
    this.complete = transfer;
  }

  /** The complete transfer `transferId`, if that is what the area holds. */
  completed(transferId: string): StagedTransfer | undefined {
    return this.complete?.transferId === transferId ? this.complete : undefined;
  }

  /**
   * Swaps the staged tables with kv and dedup, inside the open transaction of the caller (SqliteStore),
   * which commits it with the snapshot record. The replaced state lands in the staging tables, to be
   * emptied by the next clear().
   */
  swapIn(): void {
    this.db.exec(`
      ALTER TABLE kv RENAME TO kv_swap; ALTER TABLE transfer_kv RENAME TO kv; ALTER TABLE kv_swap RENAME TO transfer_kv;
      ALTER TABLE dedup RENAME TO dedup_swap; ALTER TABLE transfer_dedup RENAME TO dedup; ALTER TABLE dedup_swap RENAME TO transfer_dedup;
    `);
    this.complete = undefined;
    this.owner = undefined;
    this.dirty = true;
  }
}

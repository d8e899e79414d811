// The node's durable store on SQLite: implements the core's synchronous Storage (consensus state
// and log), backs the KV state machine, and holds the data dir's identity. Every write is staged
// in memory (reads see it) and commit() makes ALL of it durable in ONE transaction: one fsync.

import type { Database } from "better-sqlite3";
import { join } from "node:path";
import { deserialize, serialize } from "node:v8";
import type { Ballot, ConfigurationRecord, Storage, StoredEntry } from "@omnimeta/omnipaxos";
import { assert } from "../state-machine/assert.ts";
import { DataDirMismatchError, loadIdentity, stageClusterId, stageNodeId, type StoreIdentity } from "./identity.ts";
import { DATABASE_FILE, openDatabase, withoutFsync } from "./open-database.ts";
import { SqliteKvBackend } from "./sqlite-kv-backend.ts";
import { type EntryCodec, StagedLog } from "./staged-log.ts";
import { StagedState, decodeNumber, encodeNumber } from "./staged-state.ts";
import { prepareStatements, type Statements } from "./statements.ts";
import { TransferStaging } from "./transfer-staging.ts";
import { WalSyncer } from "./wal-syncer.ts";

export interface OpenStoreOptions<T, S> {
  dataDir: string;
  /** This node's name; a data dir made by another name is refused. */
  name: string;
  /** When known, a data dir of another cluster is refused. */
  clusterId?: string;
  /** Codec of a log slot (entry or StopSign) for the log table. */
  slotCodec: EntryCodec<StoredEntry<T>>;
  /** Codec of the core's snapshot type S. */
  snapshotCodec: EntryCodec<S>;
  /** Decoded committed log entries kept in memory for the core's reads (default 100,000)... */
  logCacheEntriesMax?: number;
  /** ...and at most this many encoded bytes of them (default 64 MiB). */
  logCacheBytesMax?: number;
}

export interface CommitStats {
  /** Staged writes made durable (approximate: rows and state values). */
  writeCount: number;
  /** Wall time of the transaction, fsync included. */
  durationMs: number;
  /** Whether the commit was fsynced (false: only recomputable rows, see SqliteStore.syncRequired). */
  synced?: boolean;
  /** commit({ deferFsync: true }) only: the commit holds writes that are durable once `wal.sync` completes. */
  needsSync?: boolean;
}

/** A commit failed (disk full, I/O error): the node's memory is ahead of its disk and it must stop. */
export class StorageCommitError extends Error {
  override name = "StorageCommitError";
}

const PROMISE = "promise";
const ACCEPTED_ROUND = "accepted_round";
const DECIDED_IDX = "decided_idx";
const CONFIGURATION = "configuration";
const SNAPSHOT = "snapshot";
const META_PREFIX = "meta:";

function encodeValue(value: unknown): Uint8Array {
  return serialize(value);
}
function decodeValue<V>(bytes: Uint8Array | undefined): V | undefined {
  return bytes === undefined ? undefined : (deserialize(bytes) as V);
}

/**
 * Usage by the runtime, once per event-loop turn: feed the core, apply decided entries to the
 * KvStateMachine built on `store.kv`, then `store.commit()`, and only then send the core's
 * outgoing messages and answer clients. A crash before commit loses the whole turn, atomically.
 */
/** Pages the online backup copies per step (one step per event-loop turn). */
const backupPagesPerStep = 256;

export class SqliteStore<T, S> implements Storage<T, S> {
  readonly identity: StoreIdentity;
  /** The state machine's backend; its writes commit with the consensus state. */
  readonly kv: SqliteKvBackend;
  /** Where a snapshot received from a peer is written before it is swapped in (swapInTransfer). */
  readonly transfer: TransferStaging;
  /** fdatasync of the WAL off the event loop, for commit({ deferFsync: true }) (wal-syncer.ts). */
  readonly wal: WalSyncer;
  /**
   * Called by setSnapshot with the core's snapshot before it is recorded; returns what to record. The
   * application's hook to switch in a received snapshot (swapInTransfer) exactly when the core installs it.
   */
  adoptSnapshot: ((snapshot: S) => S) | undefined;
  /** swapInTransfer opened a transaction that the next commit() ends. */
  private swapOpen = false;
  private readonly db: Database;
  private readonly stmts: Statements;
  private readonly state: StagedState;
  private readonly log: StagedLog<StoredEntry<T>>;
  private readonly snapshotCodec: EntryCodec<S>;
  private promise: Ballot | undefined;
  private acceptedRound: Ballot | undefined;
  private decidedIdx: number;
  private configuration: ConfigurationRecord | undefined;
  private snapshot: S | undefined;
  private failed: Error | undefined;
  private closed = false;
  private readonly commitBody: () => void;
  private readonly commitTx: () => void;
  /**
   * A staged write that must be on disk before this turn's messages and answers leave: a log write, the
   * promise, the accepted round, a snapshot or trim, the configuration, the identity. Without one (a turn
   * that only learnt decisions: the decided index and what applying them wrote, KV rows, request ids,
   * watch history) the commit skips its fsync. Safe: those rows are recomputed from the log, which is
   * durable, by re-applying after a restart; and the WAL is one append-only file, so the next fsynced
   * commit makes every earlier commit durable too (nothing later survives a crash that an earlier one
   * does not). The core never relies on its decided index surviving a crash (a lower one is knowledge not
   * yet relearnt). This halves the fsyncs of a sequential write on every node.
   */
  private syncRequired = false;

  private constructor(db: Database, options: OpenStoreOptions<T, S>) {
    this.db = db;
    this.stmts = prepareStatements(db);
    this.state = new StagedState(this.stmts);
    this.identity = loadIdentity(this.state, options.dataDir, options.name, options.clusterId);
    this.log = new StagedLog(this.stmts, this.state, options.slotCodec, options.logCacheEntriesMax ?? 100_000, options.logCacheBytesMax ?? 64 * 1024 * 1024);
    this.kv = new SqliteKvBackend(this.stmts, this.state);
    this.transfer = new TransferStaging(db);
    this.wal = new WalSyncer(join(options.dataDir, DATABASE_FILE) + "-wal");
    this.snapshotCodec = options.snapshotCodec;
    this.promise = decodeValue(this.state.get(PROMISE));
    this.acceptedRound = decodeValue(this.state.get(ACCEPTED_ROUND));
    this.decidedIdx = decodeNumber(this.state.get(DECIDED_IDX), 0);
    this.configuration = decodeValue(this.state.get(CONFIGURATION));
    const snap = this.state.get(SNAPSHOT);
    this.snapshot = snap === undefined ? undefined : this.snapshotCodec.decode(snap);
    this.commitBody = () => {
      this.log.flush();
      this.kv.flush();
      this.state.flush();
    };
    this.commitTx = db.transaction(this.commitBody);
  }

  /**
   * Opens the data dir (creating it and a storage id if new). Throws DataDirMismatchError for a data
   * dir of another node or cluster, DataDirLockedError when another process holds it.
   */
  static open<T, S>(options: OpenStoreOptions<T, S>): SqliteStore<T, S> {
    const db = openDatabase(options.dataDir);
    try {
      const store = new SqliteStore(db, options);
      store.commit(); // a new storage id is durable before anything uses it
      return store;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  // ---- identity and application metadata (staged like everything else) ----

  /** Records the cluster this data dir belongs to; it can never change afterwards. */
  setClusterId(clusterId: string): void {
    const current = this.identity.clusterId;
    if (current !== undefined && current !== clusterId) {
      throw new DataDirMismatchError(`data dir belongs to cluster ${current}, not ${clusterId}`);
    }
    this.identity.clusterId = clusterId;
    stageClusterId(this.state, clusterId);
    this.syncRequired = true;
  }

  setNodeId(nodeId: number): void {
    assert(Number.isSafeInteger(nodeId) && nodeId > 0, () => `node id must be a positive integer, got ${nodeId}`);
    this.identity.nodeId = nodeId;
    stageNodeId(this.state, nodeId);
    this.syncRequired = true;
  }

  /** Opaque runtime state (e.g. lifecycle flags) committed with everything else. */
  getMeta(name: string): Uint8Array | undefined {
    return this.state.get(META_PREFIX + name);
  }
  setMeta(name: string, value: Uint8Array | undefined): void {
    this.syncRequired = true;
    if (value === undefined) this.state.delete(META_PREFIX + name);
    else this.state.set(META_PREFIX + name, value);
  }

  // ---- the core's Storage<T, S> ----

  appendEntries(entries: readonly StoredEntry<T>[]): void {
    this.log.append(entries);
  }
  appendOnPrefix(fromIdx: number, entries: readonly StoredEntry<T>[]): void {
    this.log.replaceFrom(fromIdx, entries);
  }
  getEntries(fromIdx: number, toIdx: number): StoredEntry<T>[] {
    assert(fromIdx >= this.log.start && fromIdx <= toIdx && toIdx <= this.log.length, () =>
      `getEntries(${fromIdx}, ${toIdx}) outside [${this.log.start}, ${this.log.length}]`);
    return this.log.range(fromIdx, toIdx);
  }
  getLogLen(): number {
    return this.log.length;
  }

  getPromise(): Ballot | undefined {
    return this.promise;
  }
  setPromise(ballot: Ballot): void {
    this.promise = ballot;
    this.syncRequired = true;
    this.state.set(PROMISE, encodeValue(ballot));
  }
  getAcceptedRound(): Ballot | undefined {
    return this.acceptedRound;
  }
  setAcceptedRound(ballot: Ballot): void {
    this.acceptedRound = ballot;
    this.syncRequired = true;
    this.state.set(ACCEPTED_ROUND, encodeValue(ballot));
  }
  getDecidedIdx(): number {
    return this.decidedIdx;
  }
  setDecidedIdx(idx: number): void {
    this.decidedIdx = idx;
    this.state.set(DECIDED_IDX, encodeNumber(idx));
  }

  getCompactedIdx(): number {
    return this.log.start;
  }
  trim(idx: number): void {
    assert(idx >= this.log.start && idx <= this.log.length, () => `trim(${idx}) outside [${this.log.start}, ${this.log.length}]`);
    this.log.trim(idx);
    this.syncRequired = true;
  }
  getSnapshot(): S | undefined {
    return this.snapshot;
  }
  setSnapshot(compactedIdx: number, snapshot: S): void {
    assert(compactedIdx >= this.log.start, () => `setSnapshot(${compactedIdx}) below compactedIdx ${this.log.start}`);
    if (this.adoptSnapshot) snapshot = this.adoptSnapshot(snapshot);
    this.log.trim(compactedIdx);
    this.snapshot = snapshot;
    this.state.set(SNAPSHOT, this.snapshotCodec.encode(snapshot));
    this.syncRequired = true;
  }

  getConfiguration(): ConfigurationRecord | undefined {
    return this.configuration;
  }
  setConfiguration(record: ConfigurationRecord): void {
    this.configuration = record;
    this.syncRequired = true;
    this.state.set(CONFIGURATION, encodeValue(record));
  }

  /**
   * Switches the complete staged transfer `transferId` in as the key-value state at its revision, in the
   * next commit (with whatever else it holds: the snapshot record, the compacted index). Until then this
   * connection's reads already see the new tables; a crash before the commit rolls it all back.
   */
  swapInTransfer(transferId: string): void {
    const staged = this.transfer.completed(transferId);
    assert(staged !== undefined, () => `transfer ${transferId} is not complete in the staging area`);
    assert(!this.swapOpen && !this.db.inTransaction, () => "a transfer swap inside an open transaction");
    this.db.exec("BEGIN IMMEDIATE");
    this.swapOpen = true;
    try {
      this.transfer.swapIn();
    } catch (e) {
      this.db.exec("ROLLBACK");
      this.swapOpen = false;
      throw e;
    }
    this.kv.adoptTransferred(staged.revision, staged.directory);
    this.syncRequired = true;
    // The replaced state now sits in the staging tables: empty them once the swap commits (the emptying
    // waits for it), so a copy of the old state does not hold disk until the next transfer. A failure here
    // only leaves rows that the next transfer's begin() empties.
    this.transfer.clear().catch(() => undefined);
  }

  // ---- group commit ----

  /** Number of staged writes waiting for commit() (0 = nothing to do). */
  get stagedCount(): number {
    return this.state.stagedCount + this.log.stagedCount + this.kv.stagedCount;
  }

  /**
   * Makes everything staged durable in one SQLite transaction (one fsync with synchronous=FULL). With
   * `deferFsync`, a commit that needs its fsync runs under synchronous=NORMAL and reports `needsSync`: its
   * writes are in the WAL but durable only once `wal.sync()` completes, and nothing that depends on them may
   * leave before (the replica's flush). On failure the store is poisoned (every later commit throws) and the
   * node must stop: the core already acted on the writes that did not reach the disk.
   */
  commit(options?: { deferFsync?: boolean }): CommitStats {
    if (this.failed) throw new StorageCommitError(`storage failed earlier: ${this.failed.message}`);
    assert(!this.closed, () => "commit on a closed store");
    const writeCount = this.stagedCount;
    if (writeCount === 0) return { writeCount: 0, durationMs: 0 };
    const started = performance.now();
    const sync = this.syncRequired || this.log.stagedCount > 0 || this.swapOpen;
    const defer = sync && options?.deferFsync === true && !this.swapOpen;
    try {
      if (this.swapOpen) {
        this.commitTx(); // a savepoint inside the swap's transaction
        this.db.exec("COMMIT");
        this.swapOpen = false;
      } else if (sync && !defer) this.commitTx();
      else withoutFsync(this.db, this.commitBody);
    } catch (e) {
      this.failed = e as Error;
      throw new StorageCommitError(`commit failed: ${(e as Error).message}`);
    }
    this.syncRequired = false;
    this.log.promote();
    this.kv.promote();
    this.state.promote();
    return { writeCount, durationMs: performance.now() - started, synced: sync && !defer, needsSync: defer };
  }

  /**
   * Copies the committed database to `path` with SQLite's online backup, stepped between event-loop
   * turns (the node keeps serving). The copy is consistent: commits made by this connection while the
   * backup runs are carried into it, so it holds one committed state, KV rows and applied revision alike.
   */
  async backupTo(path: string): Promise<void> {
    assert(!this.closed, () => "backup of a closed store");
    // better-sqlite3 copies 100 pages (400 KiB) per step by default, one step per event-loop turn: a 230 MB
    // state took 7.5 s to copy on a busy leader (bench:join). 1024 pages (4 MiB) per step took ~23 ms each,
    // a stall that every write on the leader waited behind; 256 pages (1 MiB) keep a step near 6 ms.
    await this.db.backup(path, { progress: () => backupPagesPerStep });
  }

  /** Closes the database. Staged writes that were not committed are lost (as in a crash). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wal.close();
    this.db.close();
  }
}

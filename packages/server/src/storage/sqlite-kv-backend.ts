// The state machine's KvBackend on SQLite: key-value, de-dup and watch-history tables plus the
// applied revision, with every write staged in memory (reads see it) until the store commits.

import type { KvBackend, KvFullState, MemberDirectory } from "../state-machine/kv-backend.ts";
import { eventBytes } from "../state-machine/kv-backend.ts";
import { ByteReader, ByteWriter } from "../state-machine/byte-codec.ts";
import { readMembers, writeMembers } from "../state-machine/command.ts";
import { decodeDedupValue, encodeDedupValue, matchesFilter } from "../state-machine/kv-types.ts";
import type { DedupRecord, KeyRecord, WatchEvent, WatchFilter } from "../state-machine/kv-types.ts";
import { compareKeys } from "../state-machine/memory-kv-backend.ts";
import type { StagedState } from "./staged-state.ts";
import { decodeNumber, encodeNumber } from "./staged-state.ts";
import type { KvRow, Statements } from "./statements.ts";

const APPLIED = "applied_revision";
/** The state-table row of the member directory (also read from snapshot copies: sqlite-snapshot-source.ts). */
export const DIRECTORY = "member_directory";
const WATCH_FLOOR = "watch_floor_revision";
const EVENT_PUT = 1;
const EVENT_DELETE = 2;

function rowToRecord(row: KvRow): KeyRecord {
  return { key: row.key, value: new Uint8Array(row.value), version: row.version, createRevision: row.create_rev, modRevision: row.mod_rev };
}

export class SqliteKvBackend implements KvBackend {
  private keys = new Map<string, KeyRecord | null>();
  private keysCleared = false;
  private dedup = new Map<string, DedupRecord>();
  private dedupCleared = false;
  private dedupPruneMax = -1;
  private dedupPruneStaged = false;
  private committedFloor: number;
  private events: WatchEvent[] = [];
  private historyCleared = false;
  /** (revision, bytes) of every retained event, committed and staged, oldest first. */
  private historySizes: Array<{ revision: number; bytes: number }> = [];
  private historyHead = 0;
  private historyBytes = 0;

  constructor(
    private readonly stmts: Statements,
    private readonly state: StagedState,
  ) {
    this.loadHistorySizes();
    this.committedFloor = this.eventFloor();
  }

  private loadHistorySizes(): void {
    this.historySizes = this.stmts.historySizes.all();
    this.historyHead = 0;
    this.historyBytes = this.historySizes.reduce((sum, h) => sum + h.bytes, 0);
  }

  get stagedCount(): number {
    return this.keys.size + this.dedup.size + this.events.length;
  }

  getKey(key: string): KeyRecord | undefined {
    const staged = this.keys.get(key);
    if (staged !== undefined) return staged ?? undefined;
    if (this.keysCleared) return undefined;
    const row = this.stmts.kvGet.get(key);
    return row ? rowToRecord(row) : undefined;
  }
  putKey(record: KeyRecord): void {
    this.keys.set(record.key, record);
  }
  deleteKey(key: string): void {
    this.keys.set(key, null);
  }

  listKeys(prefix: string, afterKey: string, limit: number): KeyRecord[] {
    const staged = [...this.keys.keys()].filter((k) => k.startsWith(prefix) && compareKeys(k, afterKey) > 0).sort(compareKeys);
    const out: KeyRecord[] = [];
    let si = 0;
    const takeStagedBefore = (key: string | undefined): void => {
      while (si < staged.length && out.length < limit && (key === undefined || compareKeys(staged[si]!, key) <= 0)) {
        const rec = this.keys.get(staged[si++]!);
        if (rec) out.push(rec);
      }
    };
    if (!this.keysCleared) {
      const rows = compareKeys(afterKey, prefix) >= 0 ? this.stmts.kvListAfter.iterate(afterKey) : this.stmts.kvListFrom.iterate(prefix);
      for (const row of rows) {
        if (out.length >= limit || !row.key.startsWith(prefix)) break;
        takeStagedBefore(row.key);
        if (out.length >= limit) break;
        if (!this.keys.has(row.key)) out.push(rowToRecord(row));
      }
    }
    takeStagedBefore(undefined);
    return out;
  }

  getDedup(requestId: string): DedupRecord | undefined {
    const staged = this.dedup.get(requestId);
    if (staged) return staged;
    if (this.dedupCleared) return undefined;
    const row = this.stmts.dedupGet.get(requestId);
    if (!row || row.revision <= this.dedupPruneMax) return undefined;
    return decodeDedupValue(row.revision, row.result);
  }
  putDedup(requestId: string, record: DedupRecord): void {
    this.dedup.set(requestId, record);
  }
  pruneDedup(maxRevision: number): void {
    if (maxRevision <= this.dedupPruneMax) return;
    this.dedupPruneMax = maxRevision;
    this.dedupPruneStaged = true;
  }

  appendEvent(event: WatchEvent): void {
    this.events.push(event);
    const bytes = eventBytes(event);
    this.historySizes.push({ revision: event.revision, bytes });
    this.historyBytes += bytes;
  }

  readEvents(filter: WatchFilter, fromRevision: number, limit: number): WatchEvent[] {
    const out: WatchEvent[] = [];
    const floor = this.eventFloor();
    if (!this.historyCleared) {
      for (const row of this.stmts.historyFrom.iterate(Math.max(fromRevision, floor))) {
        if (out.length >= limit) break;
        if (!matchesFilter(filter, row.key)) continue;
        const kv: KeyRecord = { key: row.key, value: new Uint8Array(row.value), version: row.version, createRevision: row.create_rev, modRevision: row.revision };
        out.push({ type: row.type === EVENT_PUT ? "put" : "delete", kv, revision: row.revision });
      }
    }
    for (const e of this.events) {
      if (out.length >= limit) break;
      if (e.revision >= Math.max(fromRevision, floor) && matchesFilter(filter, e.kv.key)) out.push(e);
    }
    return out;
  }

  eventFloor(): number {
    return decodeNumber(this.state.get(WATCH_FLOOR), 1);
  }

  pruneEvents(minRevision: number, maxBytes: number): void {
    let floor = this.eventFloor();
    while (this.historyHead < this.historySizes.length) {
      const h = this.historySizes[this.historyHead]!;
      if (h.revision >= minRevision && this.historyBytes <= maxBytes) break;
      this.historyBytes -= h.bytes;
      floor = Math.max(floor, h.revision + 1);
      this.historyHead++;
    }
    floor = Math.max(floor, Math.min(minRevision, this.getAppliedRevision() + 1));
    if (this.historyHead > 1024 && this.historyHead * 2 > this.historySizes.length) {
      this.historySizes = this.historySizes.slice(this.historyHead);
      this.historyHead = 0;
    }
    if (floor !== this.eventFloor()) this.state.set(WATCH_FLOOR, encodeNumber(floor));
  }

  getAppliedRevision(): number {
    return decodeNumber(this.state.get(APPLIED), 0);
  }
  setAppliedRevision(revision: number): void {
    this.state.set(APPLIED, encodeNumber(revision));
  }

  getDirectory(): MemberDirectory | undefined {
    const bytes = this.state.get(DIRECTORY);
    return bytes ? decodeDirectory(bytes) : undefined;
  }
  setDirectory(directory: MemberDirectory): void {
    const w = new ByteWriter();
    w.string(directory.clusterId);
    writeMembers(w, directory.members);
    this.state.set(DIRECTORY, w.finish());
  }

  exportState(): KvFullState {
    const keys = this.listKeys("", "", Number.MAX_SAFE_INTEGER);
    const dedup = new Map<string, DedupRecord>();
    if (!this.dedupCleared) {
      for (const row of this.stmts.dedupAll.iterate()) {
        if (row.revision > this.dedupPruneMax) dedup.set(row.request_id, decodeDedupValue(row.revision, row.result));
      }
    }
    for (const [id, rec] of this.dedup) dedup.set(id, rec);
    const sorted = [...dedup.entries()].sort((a, b) => compareKeys(a[0], b[0]));
    return { appliedRevision: this.getAppliedRevision(), keys, dedup: sorted, directory: this.getDirectory() };
  }

  importState(state: KvFullState): void {
    this.adoptTransferred(state.appliedRevision, state.directory);
    this.keys = new Map(state.keys.map((k) => [k.key, k]));
    this.keysCleared = true;
    this.dedup = new Map(state.dedup);
    this.dedupCleared = true;
  }

  /**
   * The tables were just swapped for a received snapshot's (SqliteStore.swapInTransfer): they are the state
   * at `appliedRevision`. Whatever was staged for the old tables goes, and so does the watch history (a
   * watch from before is told it was compacted). importState starts from the same reset.
   */
  adoptTransferred(appliedRevision: number, directory: MemberDirectory | undefined): void {
    this.keys = new Map();
    this.keysCleared = false;
    this.dedup = new Map();
    this.dedupCleared = false;
    this.dedupPruneMax = -1;
    this.dedupPruneStaged = false;
    this.events = [];
    this.historyCleared = true;
    this.historySizes = [];
    this.historyHead = 0;
    this.historyBytes = 0;
    if (directory) this.setDirectory(directory);
    else this.state.delete(DIRECTORY);
    this.setAppliedRevision(appliedRevision);
    this.state.set(WATCH_FLOOR, encodeNumber(appliedRevision + 1));
  }

  flush(): void {
    const s = this.stmts;
    if (this.keysCleared) s.kvClear.run();
    for (const [key, rec] of this.keys) {
      if (rec) s.kvUpsert.run(key, rec.value, rec.version, rec.createRevision, rec.modRevision);
      else s.kvDelete.run(key);
    }
    if (this.dedupCleared) s.dedupClear.run();
    for (const [id, rec] of this.dedup) s.dedupUpsert.run(id, rec.revision, encodeDedupValue(rec));
    if (this.dedupPruneStaged) s.dedupPrune.run(this.dedupPruneMax);
    if (this.historyCleared) s.historyClear.run();
    const floor = this.eventFloor();
    if (floor > this.committedFloor) s.historyDeleteBelow.run(floor);
    for (const e of this.events) {
      if (e.revision < floor) continue;
      s.historyInsert.run(e.revision, e.type === "put" ? EVENT_PUT : EVENT_DELETE, e.kv.key, e.kv.value, e.kv.version, e.kv.createRevision);
    }
  }

  promote(): void {
    this.keys.clear();
    this.keysCleared = false;
    this.dedup.clear();
    this.dedupCleared = false;
    this.events = [];
    this.historyCleared = false;
    this.dedupPruneStaged = false;
    this.committedFloor = this.eventFloor();
  }

  discard(): void {
    this.promote();
    this.dedupPruneMax = -1;
    this.committedFloor = decodeNumber(this.stmts.stateGet.get(WATCH_FLOOR)?.value, 1);
    this.loadHistorySizes();
  }
}

/** The member directory as the DIRECTORY row stores it. */
export function decodeDirectory(bytes: Uint8Array): MemberDirectory {
  const r = new ByteReader(bytes);
  return { clusterId: r.string(), members: readMembers(r) };
}

// An in-memory KvBackend: for unit tests, snapshot creation and the core's simulations.
// Same semantics as the SQLite backend, without durability.

import type { KvBackend, KvFullState, MemberDirectory } from "./kv-backend.ts";
import { eventBytes } from "./kv-backend.ts";
import type { DedupRecord, KeyRecord, WatchEvent, WatchFilter } from "./kv-types.ts";
import { matchesFilter } from "./kv-types.ts";

export class MemoryKvBackend implements KvBackend {
  private readonly keys = new Map<string, KeyRecord>();
  private readonly dedup = new Map<string, DedupRecord>();
  private events: WatchEvent[] = [];
  private eventsBytes = 0;
  private floor = 1;
  private applied = 0;
  private directory: MemberDirectory | undefined;

  getKey(key: string): KeyRecord | undefined {
    return this.keys.get(key);
  }
  putKey(record: KeyRecord): void {
    this.keys.set(record.key, record);
  }
  deleteKey(key: string): void {
    this.keys.delete(key);
  }
  listKeys(prefix: string, afterKey: string, limit: number): KeyRecord[] {
    const matching = [...this.keys.keys()].filter((k) => k.startsWith(prefix) && compareKeys(k, afterKey) > 0).sort(compareKeys);
    return matching.slice(0, limit).map((k) => this.keys.get(k)!);
  }

  getDedup(requestId: string): DedupRecord | undefined {
    return this.dedup.get(requestId);
  }
  putDedup(requestId: string, record: DedupRecord): void {
    this.dedup.set(requestId, record);
  }
  pruneDedup(maxRevision: number): void {
    for (const [id, rec] of this.dedup) if (rec.revision <= maxRevision) this.dedup.delete(id);
  }

  appendEvent(event: WatchEvent): void {
    this.events.push(event);
    this.eventsBytes += eventBytes(event);
  }
  readEvents(filter: WatchFilter, fromRevision: number, limit: number): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (const e of this.events) {
      if (out.length >= limit) break;
      if (e.revision >= fromRevision && matchesFilter(filter, e.kv.key)) out.push(e);
    }
    return out;
  }
  eventFloor(): number {
    return this.floor;
  }
  pruneEvents(minRevision: number, maxBytes: number): void {
    let drop = 0;
    while (drop < this.events.length && (this.events[drop]!.revision < minRevision || this.eventsBytes > maxBytes)) {
      this.eventsBytes -= eventBytes(this.events[drop]!);
      this.floor = Math.max(this.floor, this.events[drop]!.revision + 1);
      drop++;
    }
    if (drop > 0) this.events = this.events.slice(drop);
    this.floor = Math.max(this.floor, Math.min(minRevision, this.applied + 1));
  }

  getAppliedRevision(): number {
    return this.applied;
  }
  setAppliedRevision(revision: number): void {
    this.applied = revision;
  }
  getDirectory(): MemberDirectory | undefined {
    return this.directory;
  }
  setDirectory(directory: MemberDirectory): void {
    this.directory = directory;
  }

  exportState(): KvFullState {
    const keys = [...this.keys.values()].sort((a, b) => compareKeys(a.key, b.key));
    const dedup = [...this.dedup.entries()].sort((a, b) => compareKeys(a[0], b[0]));
    return { appliedRevision: this.applied, keys, dedup, directory: this.directory };
  }
  importState(state: KvFullState): void {
    this.keys.clear();
    this.dedup.clear();
    for (const k of state.keys) this.keys.set(k.key, k);
    for (const [id, rec] of state.dedup) this.dedup.set(id, rec);
    this.directory = state.directory;
    this.applied = state.appliedRevision;
    this.events = [];
    this.eventsBytes = 0;
    this.floor = state.appliedRevision + 1;
  }
}

/** Keys order as SQLite's BINARY collation orders their UTF-8 bytes (code point order). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

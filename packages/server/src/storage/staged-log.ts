// The replicated log on the `log` table, with appends, suffix replacement and trims staged in
// memory until commit. Indexes are absolute 0-based log positions (trimming never shifts them).
// A bounded cache of decoded committed entries serves the core's hot reads without SQLite.

import { assert } from "../state-machine/assert.ts";
import type { StagedState } from "./staged-state.ts";
import { decodeNumber, encodeNumber } from "./staged-state.ts";
import type { Statements } from "./statements.ts";

export interface EntryCodec<E> {
  encode(entry: E): Uint8Array;
  decode(bytes: Uint8Array): E;
}

const LOG_START = "log_start_idx";
/** Trimmed rows deleted per commit (about a millisecond of work). */
const trimRowsPerCommit = 2048;

export class StagedLog<E> {
  /** Committed rows are [committedStart, committedLen). */
  private committedStart: number;
  private committedLen: number;
  /** Decoded committed entries [cacheStart, committedLen). Invariant: cacheStart + cache.length === committedLen. */
  private cache: E[] = [];
  /** Encoded size of each cached entry (parallel to cache), and their sum. */
  private cacheSizes: number[] = [];
  private cacheBytes = 0;
  private cacheStart: number;
  /** Encoded sizes of the overlay, recorded by flush() for promote(). */
  private flushedSizes: number[] = [];
  /** Staged: rows >= overlayStart are replaced by `overlay`. overlayStart > committedLen only after a trim past the end. */
  private overlayStart: number;
  private overlay: E[] = [];
  /** Staged: rows < stagedStart are trimmed. */
  private stagedStart: number;
  /**
   * Rows below the (committed) start may still be in the table from here on: a trim is recorded at once
   * (LOG_START) but its rows are deleted a bounded number per commit, so compacting a million slots does not
   * hold one commit, and the node, for seconds (bench:compaction: 1M slots, a 2.5 s flush). No read goes
   * below the start, so the rows left are only space, reclaimed by the next commits (or after a restart).
   */
  private physicalStart: number;
  /** physicalStart once the running commit lands (set by flush(), taken by promote()). */
  private flushedPhysicalStart: number;

  constructor(
    private readonly stmts: Statements,
    private readonly state: StagedState,
    private readonly codec: EntryCodec<E>,
    private readonly cacheEntriesMax: number,
    private readonly cacheBytesMax: number,
  ) {
    this.committedStart = decodeNumber(state.get(LOG_START), 0);
    const max = stmts.logMaxIdx.get()?.idx;
    this.committedLen = Math.max(this.committedStart, max === null || max === undefined ? 0 : max + 1);
    this.cacheStart = this.committedLen;
    this.overlayStart = this.committedLen;
    this.stagedStart = this.committedStart;
    const min = stmts.logMinIdx.get()?.idx;
    this.physicalStart = min === null || min === undefined ? this.committedStart : Math.min(min, this.committedStart);
    this.flushedPhysicalStart = this.physicalStart;
  }

  /** First retained index (entries below it were trimmed). */
  get start(): number {
    return this.stagedStart;
  }

  /** Absolute log length (including the trimmed prefix). */
  get length(): number {
    return this.overlayStart + this.overlay.length;
  }

  get stagedCount(): number {
    return this.overlay.length + (this.overlayStart < this.committedLen ? 1 : 0) + (this.stagedStart !== this.committedStart ? 1 : 0);
  }

  get(idx: number): E | undefined {
    if (idx < this.stagedStart || idx >= this.length) return undefined;
    if (idx >= this.overlayStart) return this.overlay[idx - this.overlayStart];
    if (idx >= this.cacheStart) return this.cache[idx - this.cacheStart];
    const row = this.stmts.logGet.get(idx);
    assert(row !== undefined, () => `log entry ${idx} missing in [${this.committedStart}, ${this.committedLen})`);
    return this.codec.decode(row.entry);
  }

  /** Entries [from, to), clamped to the retained log. */
  range(from: number, to: number): E[] {
    const lo = Math.max(from, this.stagedStart);
    const hi = Math.min(to, this.length);
    const out: E[] = [];
    if (lo >= hi) return out;
    const dbHi = Math.min(hi, this.cacheStart, this.overlayStart);
    if (lo < dbHi) for (const row of this.stmts.logRange.iterate(lo, dbHi)) out.push(this.codec.decode(row.entry));
    for (let i = Math.max(lo, dbHi); i < hi; i++) out.push(this.get(i)!);
    return out;
  }

  append(entries: readonly E[]): void {
    for (const e of entries) this.overlay.push(e);
  }

  /** Replaces the log from `fromIdx` on with `entries` (the core's appendOnPrefix). */
  replaceFrom(fromIdx: number, entries: readonly E[]): void {
    assert(fromIdx <= this.length && fromIdx >= this.stagedStart, () =>
      `replaceFrom(${fromIdx}) outside the retained log [${this.stagedStart}, ${this.length}]`);
    if (fromIdx >= this.overlayStart) {
      this.overlay.length = fromIdx - this.overlayStart;
    } else {
      this.overlay = [];
      this.overlayStart = fromIdx;
    }
    this.append(entries);
  }

  /**
   * Forgets entries below `idx`. Past the end, the log becomes empty and its length becomes `idx`
   * (a snapshot installed beyond the local log).
   */
  trim(idx: number): void {
    if (idx <= this.stagedStart) return;
    this.stagedStart = idx;
    if (idx >= this.length) {
      this.overlay = [];
      this.overlayStart = idx;
    } else if (this.overlayStart < idx) {
      this.overlay = this.overlay.slice(idx - this.overlayStart);
      this.overlayStart = idx;
    }
    this.state.set(LOG_START, encodeNumber(idx));
  }

  flush(): void {
    if (this.physicalStart < this.stagedStart) {
      const to = Math.min(this.stagedStart, this.physicalStart + trimRowsPerCommit);
      this.stmts.logDeleteRange.run(this.physicalStart, to);
      this.flushedPhysicalStart = to;
    }
    if (this.overlayStart < this.committedLen) this.stmts.logDeleteFrom.run(this.overlayStart);
    let idx = this.overlayStart;
    this.flushedSizes = [];
    for (const e of this.overlay) {
      const bytes = this.codec.encode(e);
      this.flushedSizes.push(bytes.length);
      this.stmts.logInsert.run(idx++, bytes);
    }
  }

  promote(): void {
    this.physicalStart = this.flushedPhysicalStart;
    if (this.overlayStart <= this.cacheStart || this.overlayStart > this.committedLen) {
      this.dropCacheFront(this.cache.length);
      this.cacheStart = this.overlayStart;
    } else {
      const keep = this.overlayStart - this.cacheStart;
      for (let i = keep; i < this.cache.length; i++) this.cacheBytes -= this.cacheSizes[i]!;
      this.cache.length = keep;
      this.cacheSizes.length = keep;
    }
    this.overlay.forEach((e, i) => {
      this.cache.push(e);
      this.cacheSizes.push(this.flushedSizes[i]!);
      this.cacheBytes += this.flushedSizes[i]!;
    });
    this.committedLen = this.overlayStart + this.overlay.length;
    this.committedStart = this.stagedStart;
    this.dropCacheFront(Math.max(0, this.committedStart - this.cacheStart, this.cache.length - this.cacheEntriesMax));
    let drop = 0;
    for (let bytes = this.cacheBytes; bytes > this.cacheBytesMax && drop < this.cache.length; drop++) bytes -= this.cacheSizes[drop]!;
    this.dropCacheFront(drop);
    if (this.cache.length === 0) this.cacheStart = this.committedLen;
    this.overlay = [];
    this.flushedSizes = [];
    this.overlayStart = this.committedLen;
  }

  private dropCacheFront(count: number): void {
    const n = Math.min(count, this.cache.length);
    if (n === 0) return;
    for (let i = 0; i < n; i++) this.cacheBytes -= this.cacheSizes[i]!;
    this.cache = this.cache.slice(n);
    this.cacheSizes = this.cacheSizes.slice(n);
    this.cacheStart += n;
  }

  discard(): void {
    this.overlay = [];
    this.overlayStart = this.committedLen;
    this.stagedStart = this.committedStart;
    this.flushedPhysicalStart = this.physicalStart;
  }
}

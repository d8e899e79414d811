// Storage with a crash model: writes land in a volatile MemoryStorage at once and are replayed onto a durable
// one at flush(), which the simulator calls right after takeOutgoingMessages() (storage.ts contract, rule 2).
// crash() throws away every write since the last flush, so a restart sees only what was durable.

import type { Ballot, ConfigurationRecord, MemoryStorage, Storage, StoredEntry } from "../../src/index.ts";

export class DurableStorage<T, S> implements Storage<T, S> {
  private volatile: MemoryStorage<T, S>;
  private durable: MemoryStorage<T, S>;
  /** Writes since the last flush, to replay onto `durable`. */
  private pending: Array<(s: MemoryStorage<T, S>) => void> = [];
  flushCount = 0;
  lostWriteCount = 0; // write calls lost by crashes

  constructor(empty: MemoryStorage<T, S>) {
    this.volatile = empty;
    this.durable = empty.clone();
  }

  /** Makes every write so far durable. */
  flush(): void {
    if (this.pending.length === 0) return;
    for (const write of this.pending) write(this.durable);
    this.pending = [];
    this.flushCount++;
  }

  /** Loses every write since the last flush. */
  crash(): void {
    this.lostWriteCount += this.pending.length;
    this.pending = [];
    this.volatile = this.durable.clone();
  }

  get hasUnflushedWrites(): boolean {
    return this.pending.length > 0;
  }

  /** The live (volatile) view, for checkers: the node's current accepted round. */
  liveAcceptedRound(): Ballot | undefined {
    return this.volatile.getAcceptedRound();
  }

  /** Durable state, for checkers (what a restart would see). */
  durableDecidedIdx(): number {
    return this.durable.getDecidedIdx();
  }

  private wrote(write: (s: MemoryStorage<T, S>) => void): void {
    write(this.volatile);
    this.pending.push(write);
  }

  appendEntries(entries: readonly StoredEntry<T>[]): void {
    const copy = entries.slice();
    this.wrote((s) => s.appendEntries(copy));
  }
  appendOnPrefix(fromIdx: number, entries: readonly StoredEntry<T>[]): void {
    const copy = entries.slice();
    this.wrote((s) => s.appendOnPrefix(fromIdx, copy));
  }
  getEntries(fromIdx: number, toIdx: number): StoredEntry<T>[] {
    return this.volatile.getEntries(fromIdx, toIdx);
  }
  getLogLen(): number {
    return this.volatile.getLogLen();
  }
  getPromise(): Ballot | undefined {
    return this.volatile.getPromise();
  }
  setPromise(ballot: Ballot): void {
    this.wrote((s) => s.setPromise(ballot));
  }
  getAcceptedRound(): Ballot | undefined {
    return this.volatile.getAcceptedRound();
  }
  setAcceptedRound(ballot: Ballot): void {
    this.wrote((s) => s.setAcceptedRound(ballot));
  }
  getDecidedIdx(): number {
    return this.volatile.getDecidedIdx();
  }
  setDecidedIdx(idx: number): void {
    this.wrote((s) => s.setDecidedIdx(idx));
  }
  getCompactedIdx(): number {
    return this.volatile.getCompactedIdx();
  }
  trim(idx: number): void {
    this.wrote((s) => s.trim(idx));
  }
  getSnapshot(): S | undefined {
    return this.volatile.getSnapshot();
  }
  setSnapshot(compactedIdx: number, snapshot: S): void {
    this.wrote((s) => s.setSnapshot(compactedIdx, snapshot));
  }
  getConfiguration(): ConfigurationRecord | undefined {
    return this.volatile.getConfiguration();
  }
  setConfiguration(record: ConfigurationRecord): void {
    this.wrote((s) => s.setConfiguration(record));
  }
}

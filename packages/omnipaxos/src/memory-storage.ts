// An in-memory Storage for tests, the simulator and the benchmark. Arrays, O(1) getters,
// amortised O(1) appends; clone() gives a simulator a "durable copy" to crash back to.
import type { Ballot } from "./ballot.ts";
import type { ConfigurationRecord, StoredEntry } from "./log-entry.ts";
import type { Storage } from "./storage.ts";
import { assert } from "./assert.ts";

export class MemoryStorage<T, S> implements Storage<T, S> {
  /** Invariant: log[k] is slot compactedIdx + k. */
  private log: StoredEntry<T>[] = [];
  private compactedIdx = 0;
  private promise: Ballot | undefined;
  private acceptedRound: Ballot | undefined;
  private decidedIdx = 0;
  private snapshot: S | undefined;
  private configuration: ConfigurationRecord | undefined;

  appendEntries(entries: readonly StoredEntry<T>[]): void {
    const log = this.log;
    for (let i = 0; i < entries.length; i++) log.push(entries[i]!);
  }

  appendOnPrefix(fromIdx: number, entries: readonly StoredEntry<T>[]): void {
    assert(fromIdx >= this.compactedIdx && fromIdx <= this.getLogLen(), () => `appendOnPrefix(${fromIdx}) outside [${this.compactedIdx}, ${this.getLogLen()}]`);
    this.log.length = fromIdx - this.compactedIdx;
    this.appendEntries(entries);
  }

  getEntries(fromIdx: number, toIdx: number): StoredEntry<T>[] {
    assert(fromIdx >= this.compactedIdx && fromIdx <= toIdx && toIdx <= this.getLogLen(), () => `getEntries(${fromIdx}, ${toIdx}) outside [${this.compactedIdx}, ${this.getLogLen()}]`);
    return this.log.slice(fromIdx - this.compactedIdx, toIdx - this.compactedIdx);
  }

  getLogLen(): number {
    return this.compactedIdx + this.log.length;
  }

  getPromise(): Ballot | undefined { return this.promise; }
  setPromise(ballot: Ballot): void { this.promise = ballot; }
  getAcceptedRound(): Ballot | undefined { return this.acceptedRound; }
  setAcceptedRound(ballot: Ballot): void { this.acceptedRound = ballot; }
  getDecidedIdx(): number { return this.decidedIdx; }
  setDecidedIdx(idx: number): void { this.decidedIdx = idx; }
  getCompactedIdx(): number { return this.compactedIdx; }

  trim(idx: number): void {
    assert(idx >= this.compactedIdx && idx <= this.getLogLen(), () => `trim(${idx}) outside [${this.compactedIdx}, ${this.getLogLen()}]`);
    this.log.splice(0, idx - this.compactedIdx);
    this.compactedIdx = idx;
  }

  getSnapshot(): S | undefined { return this.snapshot; }

  setSnapshot(compactedIdx: number, snapshot: S): void {
    assert(compactedIdx >= this.compactedIdx, () => `setSnapshot(${compactedIdx}) below compactedIdx ${this.compactedIdx}`);
    if (compactedIdx >= this.getLogLen()) this.log = [];
    else this.log.splice(0, compactedIdx - this.compactedIdx);
    this.compactedIdx = compactedIdx;
    this.snapshot = snapshot;
  }

  getConfiguration(): ConfigurationRecord | undefined { return this.configuration; }
  setConfiguration(record: ConfigurationRecord): void { this.configuration = record; }

  /** A copy sharing entry objects (they are never mutated): what survives a crash if taken at a durable point. */
  clone(): MemoryStorage<T, S> {
    const c = new MemoryStorage<T, S>();
    c.log = this.log.slice();
    c.compactedIdx = this.compactedIdx;
    c.promise = this.promise;
    c.acceptedRound = this.acceptedRound;
    c.decidedIdx = this.decidedIdx;
    c.snapshot = this.snapshot;
    c.configuration = this.configuration;
    return c;
  }
}

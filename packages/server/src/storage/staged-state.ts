// The scalar rows of the `state` table (consensus state, identity, applied revision, ...) with
// writes staged in memory until commit. Reads see staged writes.

import type { Statements } from "./statements.ts";

/** Marks a staged deletion. */
const DELETED = Symbol("deleted");

export class StagedState {
  private readonly committed = new Map<string, Uint8Array>();
  private readonly staged = new Map<string, Uint8Array | typeof DELETED>();

  constructor(private readonly stmts: Statements) {
    for (const row of stmts.stateAll.all()) this.committed.set(row.name, new Uint8Array(row.value));
  }

  get(name: string): Uint8Array | undefined {
    const s = this.staged.get(name);
    if (s === DELETED) return undefined;
    return s ?? this.committed.get(name);
  }

  set(name: string, value: Uint8Array): void {
    this.staged.set(name, value);
  }

  delete(name: string): void {
    this.staged.set(name, DELETED);
  }

  get stagedCount(): number {
    return this.staged.size;
  }

  /** Writes the staged rows; call inside the commit transaction. */
  flush(): void {
    for (const [name, value] of this.staged) {
      if (value === DELETED) this.stmts.stateDelete.run(name);
      else this.stmts.stateSet.run(name, value);
    }
  }

  /** After a successful commit: staged rows become committed. */
  promote(): void {
    for (const [name, value] of this.staged) {
      if (value === DELETED) this.committed.delete(name);
      else this.committed.set(name, value);
    }
    this.staged.clear();
  }

  discard(): void {
    this.staged.clear();
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function encodeNumber(n: number): Uint8Array {
  return textEncoder.encode(String(n));
}
export function decodeNumber(b: Uint8Array | undefined, fallback: number): number {
  return b === undefined ? fallback : Number(textDecoder.decode(b));
}
export function encodeString(s: string): Uint8Array {
  return textEncoder.encode(s);
}
export function decodeString(b: Uint8Array | undefined): string | undefined {
  return b === undefined ? undefined : textDecoder.decode(b);
}

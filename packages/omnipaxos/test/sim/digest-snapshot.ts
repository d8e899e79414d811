// The application state the simulator replicates: an order-sensitive digest of the decided entries.
// Its snapshot spec lets a checker compare "state after compaction" with "state from the full log" exactly.

/** Count and polynomial digest of a sequence of entry values (each entry value is a unique integer). */
export interface DigestState {
  entryCount: number;
  digest: number;
}

const DIGEST_BASE = 0x01000193; // odd, so multiplication by it is invertible mod 2^32

export const EMPTY_DIGEST: DigestState = { entryCount: 0, digest: 0 };

function mix(value: number): number {
  let z = (value ^ 0x5bd1e995) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x2c1b3c6d);
  z = Math.imul(z ^ (z >>> 12), 0x297a2d39);
  return (z ^ (z >>> 15)) >>> 0;
}

function powBase(exponent: number): number {
  let result = 1;
  let base = DIGEST_BASE;
  let e = exponent;
  while (e > 0) {
    if (e & 1) result = Math.imul(result, base);
    base = Math.imul(base, base);
    e = Math.floor(e / 2);
  }
  return result >>> 0;
}

/** The state after applying `value` to `state`. */
export function digestAppend(state: DigestState, value: number): DigestState {
  return { entryCount: state.entryCount + 1, digest: (Math.imul(state.digest, DIGEST_BASE) + mix(value)) >>> 0 };
}

export function digestOf(values: readonly number[]): DigestState {
  let s = EMPTY_DIGEST;
  for (const v of values) s = digestAppend(s, v);
  return s;
}

/** base followed by delta. */
export function digestMerge(base: DigestState, delta: DigestState): DigestState {
  return {
    entryCount: base.entryCount + delta.entryCount,
    digest: (Math.imul(base.digest, powBase(delta.entryCount)) + delta.digest) >>> 0,
  };
}

export function digestEquals(a: DigestState, b: DigestState): boolean {
  return a.entryCount === b.entryCount && a.digest === b.digest;
}

export function describeDigest(s: DigestState): string {
  return `{entries ${s.entryCount}, digest ${s.digest.toString(16)}}`;
}

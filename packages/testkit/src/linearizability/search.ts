// The Wing–Gong/Lowe search for a linearization of one partition (one key), with Porcupine's
// memoization: a (set of linearized ops, model state) pair is explored at most once.
import type { Model } from "./model.ts";

/** One op as the search sees it: indeterminate ops have output null and returnUs = Infinity. */
export interface SearchOp<I, O> {
  readonly input: I;
  readonly output: O | null;
  readonly callUs: number;
  readonly returnUs: number;
}

/** ok: a linearization exists. illegal: none does. unknown: the budget ran out first. */
export type SearchVerdict = "ok" | "illegal" | "unknown";

export interface SearchOptions {
  /** Give up (verdict unknown) after this long; default no limit. */
  timeoutMs?: number;
  /** Give up (verdict unknown) after this many search steps: a budget that does not depend on load. */
  stepsMax?: number;
}

export interface SearchResult {
  verdict: SearchVerdict;
  /** Search steps taken (entries visited); a measure of cost independent of machine load. */
  steps: number;
}

const NIL = -1;

/**
 * Entries are 2i (call of op i) and 2i+1 (return of op i), kept in a doubly linked list in time
 * order (calls before returns at equal times, so touching ops count as concurrent). Linearizing
 * op i lifts both of its entries out of the list; backtracking puts them back (dancing links).
 */
export function searchLinearization<S, I, O>(model: Model<S, I, O>, ops: readonly SearchOp<I, O>[], options: SearchOptions = {}): SearchResult {
  const n = ops.length;
  if (n === 0) return { verdict: "ok", steps: 0 };
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  linkInTimeOrder(ops, next, prev, head);
  const lift = (i: number) => {
    for (const e of [2 * i, 2 * i + 1]) {
      next[prev[e]] = next[e];
      if (next[e] !== NIL) prev[next[e]] = prev[e];
    }
  };
  const unlift = (i: number) => {
    for (const e of [2 * i + 1, 2 * i]) {
      next[prev[e]] = e;
      if (next[e] !== NIL) prev[next[e]] = e;
    }
  };
  const linearized = new LinearizedSet(n);
  const cache = new Map<string, Uint32Array[]>();
  const stack: { op: number; state: S }[] = [];
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  let state = model.init();
  const stepsMax = options.stepsMax ?? Infinity;
  let entry = next[head];
  let steps = 0;
  for (; next[head] !== NIL; steps++) {
    if (steps >= stepsMax || ((steps & 4095) === 0 && Date.now() > deadline)) return { verdict: "unknown", steps };
    if (entry % 2 === 0) {
      const i = entry >> 1;
      const after = model.step(state, ops[i].input, ops[i].output);
      if (after !== undefined && linearized.tryVisit(i, model.hash(after), cache)) {
        stack.push({ op: i, state });
        state = after;
        lift(i);
        entry = next[head];
      } else {
        entry = next[entry];
      }
      continue;
    }
    // A return entry: the op it closes was not linearized before it, so undo the last choice.
    const top = stack.pop();
    if (top === undefined) return { verdict: "illegal", steps };
    linearized.clear(top.op);
    state = top.state;
    unlift(top.op);
    entry = next[2 * top.op];
  }
  return { verdict: "ok", steps };
}

function linkInTimeOrder<I, O>(ops: readonly SearchOp<I, O>[], next: Int32Array, prev: Int32Array, head: number): void {
  const ids = Array.from({ length: 2 * ops.length }, (_, e) => e);
  const time = (e: number) => (e % 2 === 0 ? ops[e >> 1].callUs : ops[e >> 1].returnUs);
  ids.sort((a, b) => time(a) - time(b) || (a % 2) - (b % 2) || a - b);
  let last = head;
  for (const e of ids) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  next[last] = NIL;
}

/**
 * The set of linearized ops as a bitset, with a Zobrist hash kept up to date on every change so
 * that the memo key costs O(1); the bitset itself settles hash collisions.
 */
class LinearizedSet {
  private readonly bits: Uint32Array;
  private readonly zobrist: Uint32Array;
  private h1 = 0;
  private h2 = 0;

  constructor(n: number) {
    this.bits = new Uint32Array((n + 31) >>> 5);
    this.zobrist = new Uint32Array(2 * n);
    let x = 0x9e3779b9;
    for (let k = 0; k < this.zobrist.length; k++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.zobrist[k] = x >>> 0;
    }
  }

  /** Adds op i; answers false (and leaves the set unchanged) when (set + i, state) was seen before. */
  tryVisit(i: number, stateHash: string, cache: Map<string, Uint32Array[]>): boolean {
    this.flip(i);
    const key = `${this.h1}.${this.h2}.${stateHash}`;
    const bucket = cache.get(key);
    if (bucket === undefined) {
      cache.set(key, [this.bits.slice()]);
      return true;
    }
    if (bucket.some((b) => sameBits(b, this.bits))) {
      this.flip(i);
      return false;
    }
    bucket.push(this.bits.slice());
    return true;
  }

  clear(i: number): void {
    this.flip(i);
  }

  private flip(i: number): void {
    this.bits[i >>> 5] ^= 1 << (i & 31);
    this.h1 = (this.h1 ^ this.zobrist[2 * i]) >>> 0;
    this.h2 = (this.h2 ^ this.zobrist[2 * i + 1]) >>> 0;
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

// Shrinks a key's non-linearizable history to a small witness. Ops are only ever *relaxed* or
// dropped where that is sound, so the witness failing implies that the history fails.
import type { OpInput, OpOutput, Operation } from "./history.ts";
import { kvModel } from "./model.ts";
import { searchLinearization, type SearchOp } from "./search.ts";

export interface Witness {
  /** Ops whose observed outcome must hold; no order of them is legal. */
  strict: Operation[];
  /** Writes known to have taken effect inside their intervals, outputs ignored (context). */
  bounded: Operation[];
  /** Writes that may have taken effect at any time after their invoke, or never (context). */
  free: Operation[];
}

/**
 * Budgets are counted in search steps, not time, so that a shrink gives the same witness on an
 * idle laptop and on a loaded CI machine.
 */
export interface ShrinkOptions {
  /** The whole shrink stops trying after this many search steps in total (default 20 million). */
  budgetSteps?: number;
  /** Each trial gives up after this many steps; a trial that gives up counts as passing (default 1 million). */
  trialSteps?: number;
}

/**
 * How much of an op a trial keeps. Each level only removes constraints, so it is sound:
 * strict: as observed. bounded: took effect inside its interval, output unknown.
 * free: took effect at any time after its invoke, or never (output unknown, return at +Infinity).
 * A relaxed op that cannot change the key (a read, an observed failure) is dropped.
 */
type Relaxation = "strict" | "bounded" | "free";

/** At most this many determinate ops are made free: each one multiplies the search space. */
const FREE_OPS_MAX = 10;

function mayHaveEffect(op: Operation): boolean {
  if (op.input.f === "get") return false;
  return op.output === null || op.output.kind === "written" || op.output.kind === "deleted";
}

/**
 * The trial history for the given levels. Free ops invoked after every strict and bounded op
 * returned are dropped too: all of those precede them in any linearization.
 */
function trial(ops: readonly Operation[], levels: readonly Relaxation[]): { search: SearchOp<OpInput, OpOutput>[]; bounded: Operation[]; free: Operation[] } {
  const levelOf = (i: number): Relaxation => (ops[i].output === null ? "free" : levels[i]);
  let lastReturnUs = -Infinity;
  ops.forEach((op, i) => {
    if (levelOf(i) !== "free") lastReturnUs = Math.max(lastReturnUs, op.returnUs);
  });
  const search: SearchOp<OpInput, OpOutput>[] = [];
  const bounded: Operation[] = [];
  const free: Operation[] = [];
  ops.forEach((op, i) => {
    const level = levelOf(i);
    if (level === "strict") search.push(op);
    else if (!mayHaveEffect(op) || (level === "free" && op.callUs > lastReturnUs)) return;
    else {
      search.push({ input: op.input, output: null, callUs: op.callUs, returnUs: level === "free" ? Infinity : op.returnUs });
      (level === "free" ? free : bounded).push(op);
    }
  });
  return { search, bounded, free };
}

export function shrinkViolation(keyOps: readonly Operation[], options: ShrinkOptions = {}): Witness {
  const ops = [...keyOps].sort((a, b) => a.callUs - b.callUs);
  let budget = options.budgetSteps ?? 20_000_000;
  const trialSteps = options.trialSteps ?? 1_000_000;
  const fails = (levels: Relaxation[]) => {
    const r = searchLinearization(kvModel, trial(ops, levels).search, { stepsMax: Math.min(trialSteps, budget) });
    budget -= r.steps;
    return r.verdict === "illegal";
  };
  const inTime = () => budget > 0;
  // 1. The shortest prefix (by invoke time) whose observations already cannot be ordered.
  const prefix = (k: number): Relaxation[] => ops.map((_, i) => (i < k ? "strict" : "free"));
  let lo = 1;
  let hi = ops.length;
  while (lo < hi && inTime()) {
    const mid = (lo + hi) >> 1;
    if (fails(prefix(mid))) hi = mid;
    else lo = mid + 1;
  }
  const levels = prefix(hi);
  // 2. Free the ops just before the last one, latest first, while the witness still fails.
  let freed = 0;
  let i = hi - 2;
  for (; i >= 0 && freed < FREE_OPS_MAX && hi - 2 - i < 4 * FREE_OPS_MAX && inTime(); i--) {
    levels[i] = "free";
    if (fails(levels)) freed++;
    else levels[i] = "strict";
  }
  // 3. Older ops: bound the longest prefix that can be bounded, then the rest one by one. The ops
  //    step 2 could not free stay strict: they are the writes the violation is about.
  let lo2 = 0;
  let hi2 = i + 1;
  const boundPrefix = (s: number) => levels.map((l, j) => (j < s && l === "strict" ? "bounded" : l));
  while (lo2 < hi2 && inTime()) {
    const mid = (lo2 + hi2 + 1) >> 1;
    if (fails(boundPrefix(mid))) lo2 = mid;
    else hi2 = mid - 1;
  }
  levels.splice(0, levels.length, ...boundPrefix(lo2));
  for (let j = i; j >= 0 && inTime(); j--) {
    if (levels[j] !== "strict") continue;
    levels[j] = "bounded";
    if (!fails(levels)) levels[j] = "strict";
  }
  const { bounded, free } = trial(ops, levels);
  return { strict: ops.filter((op, j) => levels[j] === "strict" && op.output !== null), bounded, free };
}

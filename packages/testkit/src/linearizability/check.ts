// Checks a whole history: partitions it by key, searches each key for a linearization, and
// shrinks every violation to a witness that names the key and the ops that cannot be ordered.
import { describeOperation, pairOperations, partitionByKey, resolveObservedWrites, type HistoryEvent, type Operation } from "./history.ts";
import { kvModel } from "./model.ts";
import { searchLinearization, type SearchVerdict } from "./search.ts";
import { shrinkViolation, type Witness } from "./shrink.ts";

export interface CheckOptions {
  /** Per-key search budget; past it the key's verdict is unknown (default 60 s). */
  keyTimeoutMs?: number;
  /** Per-violation shrink budget in search steps (default 40 times the key's search, at least 20 million). */
  shrinkBudgetSteps?: number;
}

export interface KeyVerdict {
  key: string;
  opCount: number;
  verdict: SearchVerdict;
  elapsedMs: number;
}

export interface Anomaly extends Witness {
  key: string;
  /** Readable lines: the strict ops, then the count of context writes. */
  explanation: string[];
}

export interface CheckResult {
  /** true: linearizable; false: a violation was found; "unknown": some key ran out of budget. */
  valid: boolean | "unknown";
  keys: KeyVerdict[];
  anomalies: Anomaly[];
}

export function checkEvents(events: readonly HistoryEvent[], options: CheckOptions = {}): CheckResult {
  return checkOperations(pairOperations(events), options);
}

export function checkOperations(ops: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const keys: KeyVerdict[] = [];
  const anomalies: Anomaly[] = [];
  const byKey = [...partitionByKey(resolveObservedWrites(ops))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, keyOps] of byKey) {
    const started = Date.now();
    const { verdict, steps } = searchLinearization(kvModel, keyOps, { timeoutMs: options.keyTimeoutMs ?? 60_000 });
    const elapsedMs = Date.now() - started;
    keys.push({ key, opCount: keyOps.length, verdict, elapsedMs });
    if (verdict !== "illegal") continue;
    // A trial is a smaller search than the one just done: give it twice as many steps.
    const shrink = { trialSteps: Math.max(1_000_000, 2 * steps), budgetSteps: options.shrinkBudgetSteps ?? Math.max(20_000_000, 40 * steps) };
    anomalies.push(explain(key, shrinkViolation(keyOps, shrink)));
  }
  const valid = anomalies.length > 0 ? false : keys.some((k) => k.verdict === "unknown") ? "unknown" : true;
  return { valid, keys, anomalies };
}

function explain(key: string, witness: Witness): Anomaly {
  const explanation = [
    `key ${JSON.stringify(key)}: no order of these ${witness.strict.length} ops is legal for a single copy of the key:`,
    ...witness.strict.map((op) => `  ${describeOperation(op)}  [${op.callUs}, ${op.returnUs}] µs`),
  ];
  if (witness.free.length > 0) {
    explanation.push(`given that these writes may each have taken effect at any time after their invoke, or never:`);
    explanation.push(...witness.free.map((op) => `  ${describeOperation(op)}  [${op.callUs}, ...] µs`));
  }
  if (witness.bounded.length > 0) {
    explanation.push(`and that ${witness.bounded.length} earlier writes of this key took effect within their intervals (outputs ignored).`);
  }
  return { key, ...witness, explanation };
}

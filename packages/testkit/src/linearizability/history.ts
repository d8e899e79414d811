// Histories of the versioned key-value store: the JSONL event format (one line per invoke and per
// completion), and their pairing into operations that the checker orders.
import { readFileSync } from "node:fs";

/** A write's condition, as in omnimeta.v1.Precondition. */
export type Precondition = { kind: "none" } | { kind: "absent" } | { kind: "version"; version: number };

/** What a client asked for. Values are strings (the workload writes unique ones). */
export type OpInput =
  | { f: "get"; key: string }
  | { f: "put"; key: string; value: string; pre: Precondition }
  | { f: "delete"; key: string; pre: Precondition };

/** What a client observed. Each kind asserts a fact about the key at the linearization point. */
export type OpOutput =
  | { kind: "value"; value: string; version: number } // get: the key exists
  | { kind: "absent" } // get, or delete answered NOT_FOUND: the key does not exist
  | { kind: "written"; version: number; revision?: number } // put applied; the key's version after it (and the write's revision)
  | { kind: "deleted"; previousVersion: number; revision?: number } // delete applied
  | { kind: "preconditionFailed"; exists: boolean; version: number }; // FAILED_PRECONDITION, current state

/**
 * ok: applied, output known. fail: definitely not applied (the output, when present, is an
 * observation such as FAILED_PRECONDITION). info: indeterminate (timeout, lost connection,
 * ambiguous error): it may have taken effect at any time after its invoke.
 */
export type CompletionType = "ok" | "fail" | "info";

export type HistoryEvent =
  | { type: "invoke"; process: number; opId: number; timeUs: number; input: OpInput }
  | { type: CompletionType; process: number; opId: number; timeUs: number; output?: OpOutput; error?: string };

/** An invoke paired with its completion. Indeterminate ops return at +Infinity. */
export interface Operation {
  opId: number;
  process: number;
  input: OpInput;
  /** null when unknown (indeterminate). */
  output: OpOutput | null;
  callUs: number;
  returnUs: number;
  status: CompletionType;
  error?: string;
}

export function toJsonl(events: readonly HistoryEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join("\n") + (events.length > 0 ? "\n" : "");
}

export function parseJsonl(text: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    try {
      events.push(JSON.parse(line) as HistoryEvent);
    } catch {
      throw new Error(`history line ${i + 1} is not JSON: ${line.slice(0, 80)}`);
    }
  }
  return events;
}

export function readHistoryFile(path: string): HistoryEvent[] {
  return parseJsonl(readFileSync(path, "utf8"));
}

/**
 * Pairs invokes with completions by opId. An invoke with no completion (the history ended, the
 * client died) counts as indeterminate. A process has at most one op in flight.
 */
export function pairOperations(events: readonly HistoryEvent[]): Operation[] {
  const open = new Map<number, Operation>();
  const ops: Operation[] = [];
  const inFlight = new Map<number, number>();
  for (const e of events) {
    if (e.type === "invoke") {
      if (open.has(e.opId)) throw new Error(`op ${e.opId} invoked twice`);
      const busy = inFlight.get(e.process);
      if (busy !== undefined) throw new Error(`process ${e.process} invoked op ${e.opId} while op ${busy} is in flight`);
      const op: Operation = { opId: e.opId, process: e.process, input: e.input, output: null, callUs: e.timeUs, returnUs: Infinity, status: "info" };
      open.set(e.opId, op);
      inFlight.set(e.process, e.opId);
      ops.push(op);
      continue;
    }
    const op = open.get(e.opId);
    if (op === undefined) throw new Error(`op ${e.opId} completed (${e.type}) without an invoke`);
    open.delete(e.opId);
    inFlight.delete(op.process);
    op.status = e.type;
    if (e.error !== undefined) op.error = e.error;
    if (e.type === "info") continue;
    if (e.timeUs < op.callUs) throw new Error(`op ${e.opId} completes before its invoke`);
    op.returnUs = e.timeUs;
    op.output = e.output ?? null;
  }
  return ops;
}

/**
 * The ops the checker must order for each key:
 * ok and observed fail ops are strict; a fail with no observation had no effect and is dropped;
 * an indeterminate read has no effect and no output, so it is dropped too; an indeterminate
 * write stays, with an unknown output and a return at +Infinity.
 */
export function partitionByKey(ops: readonly Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    if (op.status === "fail" && op.output === null) continue;
    if (op.status === "info" && op.input.f === "get") continue;
    if (op.status !== "info" && op.output === null) throw new Error(`op ${op.opId} completed ${op.status} without an output`);
    const list = byKey.get(op.input.key) ?? [];
    list.push(op);
    byKey.set(op.input.key, list);
  }
  return byKey;
}

/** A one-line, human description of an op, e.g. `p3 #17 put(k0, "v3-17", if v=4) -> written v5`. */
export function describeOperation(op: Operation): string {
  const i = op.input;
  const pre = i.f === "get" ? "" : describePrecondition(i.pre);
  const call = i.f === "get" ? `get(${i.key})` : i.f === "put" ? `put(${i.key}, ${JSON.stringify(i.value)}${pre})` : `delete(${i.key}${pre})`;
  const inferred = op.status === "info" && op.output !== null ? " (inferred from a read)" : "";
  return `p${op.process} #${op.opId} ${call} -> ${op.output === null ? `? (${op.status}${op.error ? `: ${op.error}` : ""})` : describeOutput(op.output)}${inferred}`;
}

function describePrecondition(pre: Precondition): string {
  return pre.kind === "none" ? "" : pre.kind === "absent" ? ", if absent" : `, if v=${pre.version}`;
}

export function describeOutput(out: OpOutput): string {
  switch (out.kind) {
    case "value":
      return `${JSON.stringify(out.value)} v${out.version}`;
    case "absent":
      return "absent";
    case "written":
      return `written v${out.version}`;
    case "deleted":
      return `deleted (was v${out.previousVersion})`;
    case "preconditionFailed":
      return `precondition failed (${out.exists ? `exists v${out.version}` : "absent"})`;
  }
}

/**
 * Uses what later reads saw to pin down indeterminate puts (the workload writes unique values).
 * If a get returned (v, n) and exactly one put wrote v, that put was the last write before the
 * get took effect, so it took effect before the get returned, and it made version n. The put
 * becomes determinate: output `written n`, return = the earliest such get's return. This is sound
 * and it removes most of the search space indeterminate writes would otherwise open.
 */
export function resolveObservedWrites(ops: readonly Operation[]): Operation[] {
  const writers = new Map<string, Operation[]>();
  for (const op of ops) {
    if (op.input.f !== "put") continue;
    const list = writers.get(`${op.input.key}\u0000${op.input.value}`) ?? [];
    list.push(op);
    writers.set(`${op.input.key}\u0000${op.input.value}`, list);
  }
  const resolved = new Map<Operation, Operation>();
  for (const read of ops) {
    if (read.input.f !== "get" || read.output?.kind !== "value") continue;
    const candidates = writers.get(`${read.input.key}\u0000${read.output.value}`);
    if (candidates === undefined || candidates.length !== 1 || candidates[0].status !== "info") continue;
    const put = candidates[0];
    const prior = resolved.get(put);
    if (prior !== undefined && prior.returnUs <= read.returnUs) continue;
    if (prior !== undefined && prior.output?.kind === "written" && prior.output.version !== read.output.version) continue;
    resolved.set(put, { ...put, output: { kind: "written", version: read.output.version }, returnUs: Math.max(put.callUs, read.returnUs) });
  }
  return ops.map((op) => resolved.get(op) ?? op);
}

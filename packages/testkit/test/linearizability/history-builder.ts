// A tiny DSL for handmade histories in tests: `b.put(p, [call, ret], key, value, out)` appends an
// invoke and a completion; `"info"` as the outcome makes the op indeterminate.
import type { HistoryEvent, OpInput, OpOutput, Precondition } from "../../src/linearizability/history.ts";

export type Outcome = OpOutput | "info" | { fail: OpOutput | null };

export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];
  private nextOpId = 1;

  op(process: number, [callUs, returnUs]: [number, number], input: OpInput, outcome: Outcome): this {
    const opId = this.nextOpId++;
    this.events.push({ type: "invoke", process, opId, timeUs: callUs, input });
    if (outcome === "info") this.events.push({ type: "info", process, opId, timeUs: returnUs, error: "deadline exceeded" });
    else if ("fail" in outcome) this.events.push({ type: "fail", process, opId, timeUs: returnUs, ...(outcome.fail ? { output: outcome.fail } : {}) });
    else this.events.push({ type: "ok", process, opId, timeUs: returnUs, output: outcome });
    return this;
  }

  get(p: number, t: [number, number], key: string, out: Outcome): this {
    return this.op(p, t, { f: "get", key }, out);
  }

  put(p: number, t: [number, number], key: string, value: string, out: Outcome, pre: Precondition = { kind: "none" }): this {
    return this.op(p, t, { f: "put", key, value, pre }, out);
  }

  del(p: number, t: [number, number], key: string, out: Outcome, pre: Precondition = { kind: "none" }): this {
    return this.op(p, t, { f: "delete", key, pre }, out);
  }

  /** Events sorted by time, as a recorder would have written them. */
  sorted(): HistoryEvent[] {
    return [...this.events].sort((a, b) => a.timeUs - b.timeUs);
  }
}

export const value = (v: string, version: number): OpOutput => ({ kind: "value", value: v, version });
export const written = (version: number): OpOutput => ({ kind: "written", version });
export const deleted = (previousVersion: number): OpOutput => ({ kind: "deleted", previousVersion });
export const absent: OpOutput = { kind: "absent" };
export const conflict = (exists: boolean, version: number): OpOutput => ({ kind: "preconditionFailed", exists, version });
export const ifVersion = (version: number): Precondition => ({ kind: "version", version });
export const ifAbsent: Precondition = { kind: "absent" };

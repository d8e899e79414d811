// Generates linearizable histories of the versioned store for tests: clients issue overlapping
// ops, each takes effect at a random point inside its interval, outputs come from a real map.
import type { HistoryEvent, OpInput, OpOutput } from "../../src/linearizability/history.ts";
import { kvModel, type KeyState } from "../../src/linearizability/model.ts";
import { Prng } from "../../src/util/prng.ts";

export interface RandomHistoryOptions {
  seed: number;
  clients: number;
  opsPerClient: number;
  keys: string[];
  /** Chance that an op ends indeterminate (it then takes effect or not, at random). */
  infoRate: number;
}

interface Planned {
  process: number;
  opId: number;
  input: OpInput;
  callUs: number;
  returnUs: number;
  pointUs: number;
  info: boolean;
  applies: boolean;
  output?: OpOutput;
}

function randomInput(rng: Prng, key: string, version: number, opId: number): OpInput {
  const r = rng.float();
  if (r < 0.4) return { f: "get", key };
  if (r < 0.65) return { f: "put", key, value: `v${opId}`, pre: { kind: "none" } };
  if (r < 0.85) return { f: "put", key, value: `v${opId}`, pre: rng.chance(0.8) ? { kind: "version", version: Math.max(1, version + rng.between(-1, 0)) } : { kind: "absent" } };
  return { f: "delete", key, pre: rng.chance(0.5) ? { kind: "none" } : { kind: "version", version: Math.max(1, version) } };
}

/** The output a sequential store gives for `input` in `state`, and the next state. */
export function applySequentially(state: KeyState, input: OpInput): { output: OpOutput; next: KeyState } {
  const exists = state.version > 0;
  const cond = input.f === "get" ? true : input.pre.kind === "none" ? true : input.pre.kind === "absent" ? !exists : exists && state.version === input.pre.version;
  if (input.f === "get") return { output: exists ? { kind: "value", value: state.value, version: state.version } : { kind: "absent" }, next: state };
  if (input.f === "delete" && !exists) return { output: { kind: "absent" }, next: state };
  if (!cond) return { output: { kind: "preconditionFailed", exists, version: state.version }, next: state };
  if (input.f === "put") return { output: { kind: "written", version: state.version + 1 }, next: { version: state.version + 1, value: input.value } };
  return { output: { kind: "deleted", previousVersion: state.version }, next: kvModel.init() };
}

export function randomHistory(o: RandomHistoryOptions): HistoryEvent[] {
  const rng = new Prng(o.seed);
  const planned: Planned[] = [];
  let opId = 0;
  for (let p = 0; p < o.clients; p++) {
    let t = rng.between(0, 50);
    for (let k = 0; k < o.opsPerClient; k++) {
      const callUs = t;
      const returnUs = callUs + rng.between(5, 200);
      const info = rng.chance(o.infoRate);
      planned.push({ process: p, opId: ++opId, input: { f: "get", key: rng.pick(o.keys) }, callUs, returnUs, pointUs: rng.between(callUs, returnUs), info, applies: !info || rng.chance(0.5) });
      t = returnUs + rng.between(1, 30);
    }
  }
  // Decide inputs in linearization order so that CAS versions are often right.
  const states = new Map<string, KeyState>(o.keys.map((k) => [k, kvModel.init()]));
  for (const op of [...planned].sort((a, b) => a.pointUs - b.pointUs)) {
    const key = op.input.key;
    const state = states.get(key)!;
    op.input = randomInput(rng, key, state.version, op.opId);
    if (!op.applies) continue;
    const { output, next } = applySequentially(state, op.input);
    op.output = output;
    states.set(key, next);
  }
  const events: HistoryEvent[] = [];
  for (const op of planned) {
    events.push({ type: "invoke", process: op.process, opId: op.opId, timeUs: op.callUs, input: op.input });
    if (op.info) events.push({ type: "info", process: op.process, opId: op.opId, timeUs: op.returnUs, error: "timeout" });
    else events.push({ type: op.output!.kind === "preconditionFailed" || op.output!.kind === "absent" && op.input.f === "delete" ? "fail" : "ok", process: op.process, opId: op.opId, timeUs: op.returnUs, output: op.output! });
  }
  return events.sort((a, b) => a.timeUs - b.timeUs || (a.type === "invoke" ? 1 : -1));
}

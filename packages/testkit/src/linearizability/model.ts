// The sequential specification of one key of omnimeta's versioned store, as a pure model in the
// style of Porcupine: init, step, equal (via a hash), describe. The checker partitions by key.
import type { OpInput, OpOutput, Precondition } from "./history.ts";

/** One key. version 0 means absent; otherwise 1 on create, +1 on each put. */
export interface KeyState {
  readonly version: number;
  readonly value: string;
}

/** A sequential specification. step answers the next state, or undefined when the output is illegal. */
export interface Model<S, I, O> {
  init(): S;
  /** output null: unknown (indeterminate op); any output is allowed, the effect still applies. */
  step(state: S, input: I, output: O | null): S | undefined;
  /** Equal states have equal hashes, and different states different hashes. */
  hash(state: S): string;
  describeState(state: S): string;
}

const ABSENT: KeyState = { version: 0, value: "" };

function holds(state: KeyState, pre: Precondition): boolean {
  switch (pre.kind) {
    case "none":
      return true;
    case "absent":
      return state.version === 0;
    case "version":
      return state.version > 0 && state.version === pre.version;
  }
}

/** A failed write's observation must describe the state it failed in. */
function observesState(state: KeyState, out: OpOutput): boolean {
  if (out.kind === "absent") return state.version === 0;
  if (out.kind !== "preconditionFailed") return false;
  return out.exists ? state.version > 0 && out.version === state.version : state.version === 0;
}

function stepGet(state: KeyState, out: OpOutput | null): KeyState | undefined {
  if (out === null) return state;
  if (out.kind === "absent") return state.version === 0 ? state : undefined;
  if (out.kind === "value") return state.version === out.version && state.value === out.value && state.version > 0 ? state : undefined;
  return undefined;
}

function stepPut(state: KeyState, value: string, pre: Precondition, out: OpOutput | null): KeyState | undefined {
  if (!holds(state, pre)) return out === null || observesState(state, out) ? state : undefined;
  const next: KeyState = { version: state.version + 1, value };
  if (out === null) return next;
  return out.kind === "written" && out.version === next.version ? next : undefined;
}

function stepDelete(state: KeyState, pre: Precondition, out: OpOutput | null): KeyState | undefined {
  if (state.version === 0 || !holds(state, pre)) return out === null || observesState(state, out) ? state : undefined;
  if (out === null) return ABSENT;
  return out.kind === "deleted" && out.previousVersion === state.version ? ABSENT : undefined;
}

export const kvModel: Model<KeyState, OpInput, OpOutput> = {
  init: () => ABSENT,
  step(state, input, output) {
    switch (input.f) {
      case "get":
        return stepGet(state, output);
      case "put":
        return stepPut(state, input.value, input.pre, output);
      case "delete":
        return stepDelete(state, input.pre, output);
    }
  },
  hash: (state) => (state.version === 0 ? "0" : `${state.version}:${state.value}`),
  describeState: (state) => (state.version === 0 ? "absent" : `${JSON.stringify(state.value)} v${state.version}`),
};

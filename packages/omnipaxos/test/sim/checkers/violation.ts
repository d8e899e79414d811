// The error every checker throws: which invariant broke, and a one-line account of how.

export class SafetyViolation extends Error {
  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = "SafetyViolation";
  }
}

export function check(cond: boolean, invariant: string, detail: () => string): asserts cond {
  if (!cond) throw new SafetyViolation(invariant, detail());
}

// Assertions that stay on in production: a broken invariant stops the node instead of letting it
// continue on corrupt state. The message is built lazily so hot paths pay nothing when it holds.

export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

export function assert(cond: unknown, msg: () => string): asserts cond {
  if (!cond) throw new AssertionError(`omnipaxos invariant violated: ${msg()}`);
}

export function unreachable(x: never): never {
  throw new AssertionError(`omnipaxos: unreachable case ${JSON.stringify(x)}`);
}

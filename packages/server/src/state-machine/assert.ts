// Invariant assertions that stay on in production: a broken invariant stops the node rather
// than letting it continue on corrupt state.

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message: () => string): asserts condition {
  if (!condition) throw new AssertionError(message());
}

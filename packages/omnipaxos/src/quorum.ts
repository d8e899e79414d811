// Quorum maths kept apart from the protocols: majority size and "the largest index a quorum has
// reached" over any set of node ids.

export function quorumSize(memberCount: number): number {
  return Math.floor(memberCount / 2) + 1;
}

/**
 * The largest idx such that at least `quorum` of `values` are >= idx (values are per-node indexes,
 * missing nodes count as 0). Sorts a copy; called once per Accepted batch, not per entry.
 */
export function quorumIdx(values: number[], quorum: number): number {
  if (values.length < quorum) return 0;
  const sorted = values.slice().sort((a, b) => b - a);
  return sorted[quorum - 1]!;
}

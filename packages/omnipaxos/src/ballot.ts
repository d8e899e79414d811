// Ballots (configurationId, n, priority, pid), totally ordered in that order. The configuration id
// is most significant so that every ballot of configuration c+1 outranks every ballot of c.

export interface Ballot {
  readonly configurationId: number;
  readonly n: number;
  readonly priority: number;
  readonly pid: number;
}

export const BALLOT_ZERO: Ballot = Object.freeze({ configurationId: 0, n: 0, priority: 0, pid: 0 });

/** Negative if a < b, 0 if equal, positive if a > b. */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.configurationId !== b.configurationId) return a.configurationId - b.configurationId;
  if (a.n !== b.n) return a.n - b.n;
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.pid - b.pid;
}

export function ballotEquals(a: Ballot, b: Ballot): boolean {
  return compareBallots(a, b) === 0;
}

export function maxBallot(a: Ballot, b: Ballot): Ballot {
  return compareBallots(a, b) >= 0 ? a : b;
}

/** The lowest ballot of a configuration: the accepted round a node gets when it enters that configuration. */
export function configurationBallot(configurationId: number): Ballot {
  return { configurationId, n: 0, priority: 0, pid: 0 };
}

export function formatBallot(b: Ballot): string {
  return `(${b.configurationId},${b.n},${b.priority},${b.pid})`;
}

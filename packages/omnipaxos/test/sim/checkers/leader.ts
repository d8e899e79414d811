// At most one leader per ballot: every (configuration, ballot) that some node leads is led by that node alone,
// and a leader's ballot carries its own pid.

import { check } from "./violation.ts";

export interface BallotView {
  n: number;
  priority: number;
  pid: number;
}

export class LeaderChecker {
  private readonly leaderOf = new Map<string, number>();

  /** Node `pid` (in configuration `configurationId`) considers itself leader in `ballot`. */
  observe(configurationId: number, pid: number, ballot: BallotView): void {
    check(ballot.pid === pid, "one-leader-per-ballot", () => `node ${pid} leads in ballot ${fmt(ballot)} of another pid`);
    const key = `${configurationId}/${ballot.n}/${ballot.priority}/${ballot.pid}`;
    const other = this.leaderOf.get(key);
    if (other === undefined) this.leaderOf.set(key, pid);
    else check(other === pid, "one-leader-per-ballot", () => `nodes ${other} and ${pid} both lead ballot ${fmt(ballot)} in configuration ${configurationId}`);
  }

  get ballotCount(): number {
    return this.leaderOf.size;
  }
}

function fmt(b: BallotView): string {
  return `(n ${b.n}, prio ${b.priority}, pid ${b.pid})`;
}

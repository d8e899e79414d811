// Polls the Status of some nodes every few hundred ms and counts how often the leader they report
// changes (a changed leader id, as said by the node that claims to lead), for the benchmarks.
import type { ProcessCluster } from "@omnimeta/testkit";

export class LeaderTracker {
  /** The node name of the last leader seen, if any. */
  current: string | undefined;
  changes = 0;
  private readonly timer: NodeJS.Timeout;
  private busy = false;

  constructor(private readonly cluster: ProcessCluster, private readonly names: string[], intervalMs = 250) {
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const statuses = await Promise.all(this.names.map((n) => this.cluster.status(n, 1000).then((s) => ({ n, s }), () => undefined)));
      const leader = statuses.find((x) => x?.s.isLeader);
      if (leader === undefined) return;
      if (this.current !== undefined && this.current !== leader.n) this.changes++;
      this.current = leader.n;
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// Counts leader changes during a case: every POLL_MS it asks all nodes for their status and records
// each distinct (leader, term) pair claimed by a node that says it leads. Changes = pairs seen − 1.
// The polling load (3 Status calls per interval) is the same for both systems.
import { allStatuses } from "./leader-finder.ts";
import type { KvTarget } from "./kv-target.ts";

const POLL_MS = 250;

export class LeaderWatch {
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();

  private constructor(private readonly target: KvTarget) {}

  static async start(target: KvTarget): Promise<LeaderWatch> {
    const watch = new LeaderWatch(target);
    await watch.poll();
    watch.timer = setInterval(() => void (watch.polling = watch.poll()), POLL_MS);
    return watch;
  }

  private async poll(): Promise<void> {
    for (const s of await allStatuses(this.target)) if (s.isLeader) this.seen.add(`${s.endpoint}@${s.term}`);
  }

  /** Stops polling after one last look; the number of leader changes seen. */
  async stop(): Promise<number> {
    clearInterval(this.timer);
    await this.polling;
    await this.poll();
    return Math.max(0, this.seen.size - 1);
  }
}

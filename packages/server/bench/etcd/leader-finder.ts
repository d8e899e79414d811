// Where bench:etcd sends requests: the current leader, found by asking every node for its status
// (etcd: Maintenance.Status, omnimeta: ClusterService.Status). One lookup at a time is in flight;
// workers that lost the leader meanwhile await the same lookup.
import type { KvTarget, NodeStatus } from "./kv-target.ts";

const STATUS_TIMEOUT_MS = 500;

export class LeaderFinder {
  private current: string | undefined;
  private lookup: Promise<string | undefined> | undefined;
  lookupCount = 0;

  constructor(private readonly target: KvTarget) {}

  /** The leader endpoint known now, or a fresh lookup when there is none. */
  async leader(): Promise<string | undefined> {
    return this.current ?? (await this.refresh());
  }

  /** Forgets `endpoint` as the leader (it failed a request) and looks again. */
  async lost(endpoint: string): Promise<string | undefined> {
    if (this.current !== undefined && this.current !== endpoint) return this.current; // already moved on
    this.current = undefined;
    return this.refresh();
  }

  private refresh(): Promise<string | undefined> {
    this.lookup ??= this.find().finally(() => (this.lookup = undefined));
    return this.lookup;
  }

  private async find(): Promise<string | undefined> {
    this.lookupCount++;
    const statuses = await allStatuses(this.target);
    const self = statuses.find((s) => s.isLeader);
    this.current = self?.endpoint ?? statuses.find((s) => s.leaderEndpoint !== undefined)?.leaderEndpoint;
    return this.current;
  }
}

/** The status of every node that answers within STATUS_TIMEOUT_MS. */
export async function allStatuses(target: KvTarget): Promise<NodeStatus[]> {
  const answers = await Promise.all(target.endpoints.map((e) => target.status(e, STATUS_TIMEOUT_MS).catch(() => undefined)));
  return answers.filter((s): s is NodeStatus => s !== undefined);
}

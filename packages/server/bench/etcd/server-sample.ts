// CPU and RSS of a cluster's server processes at one moment, and the CPU used between two moments
// (summed over the nodes alive at both). A node killed in between is left out of the sum.
import type { KvTarget } from "./kv-target.ts";
import { cpuMsOf, rssMbOf } from "./proc-stats.ts";

export interface ServerSample {
  /** CPU ms per pid, user and system. */
  cpuMs: Map<number, { user: number; system: number }>;
  /** RSS MB per node, in endpoint order (0 for a node that is not running). */
  rssMb: number[];
}

export function sampleServers(target: KvTarget): ServerSample {
  const cpuMs = new Map<number, { user: number; system: number }>();
  const rssMb: number[] = [];
  for (const endpoint of target.endpoints) {
    const pid = target.pidOf(endpoint);
    const cpu = pid === undefined ? undefined : cpuMsOf(pid);
    if (pid !== undefined && cpu !== undefined) cpuMs.set(pid, cpu);
    rssMb.push(pid === undefined ? 0 : rssMbOf(pid));
  }
  return { cpuMs, rssMb };
}

/** Server CPU ms (user + system) used from `before` to `after`, over the processes present in both. */
export function serverCpuMsBetween(before: ServerSample, after: ServerSample): number {
  const { user, system } = serverCpuSplitBetween(before, after);
  return user + system;
}

/** Server CPU ms from `before` to `after`, user and system apart (system includes fsync and sockets). */
export function serverCpuSplitBetween(before: ServerSample, after: ServerSample): { user: number; system: number } {
  let user = 0;
  let system = 0;
  for (const [pid, end] of after.cpuMs) {
    const start = before.cpuMs.get(pid);
    if (start === undefined) continue;
    user += Math.max(0, end.user - start.user);
    system += Math.max(0, end.system - start.system);
  }
  return { user, system };
}

// CPU and RSS of a cluster's server processes at one moment, and the CPU used between two moments
// (summed over the nodes alive at both). A node killed in between is left out of the sum.
import type { KvTarget } from "./kv-target.ts";
import { cpuMsOf, rssMbOf } from "./proc-stats.ts";

export interface ServerSample {
  /** CPU ms per pid (user + system). */
  cpuMs: Map<number, number>;
  /** RSS MB per node, in endpoint order (0 for a node that is not running). */
  rssMb: number[];
}

export function sampleServers(target: KvTarget): ServerSample {
  const cpuMs = new Map<number, number>();
  const rssMb: number[] = [];
  for (const endpoint of target.endpoints) {
    const pid = target.pidOf(endpoint);
    if (pid !== undefined) cpuMs.set(pid, cpuMsOf(pid));
    rssMb.push(pid === undefined ? 0 : rssMbOf(pid));
  }
  return { cpuMs, rssMb };
}

/** Server CPU ms used from `before` to `after`, over the processes present in both. */
export function serverCpuMsBetween(before: ServerSample, after: ServerSample): number {
  let total = 0;
  for (const [pid, ms] of after.cpuMs) {
    const start = before.cpuMs.get(pid);
    if (start !== undefined && ms >= start) total += ms - start;
  }
  return total;
}

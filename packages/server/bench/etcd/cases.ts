// The cases of bench:etcd, each run against one system: sequential put, puts at concurrency 16, 64
// and 256, linearizable gets at 16 and 64 (over keys written beforehand), and a put load during
// which the leader is SIGKILLed. runCase() turns one run into one JSON-ready result.
import { closedLoop, type LoadResult } from "./closed-loop.ts";
import type { KvTarget } from "./kv-target.ts";
import { LeaderFinder } from "./leader-finder.ts";
import { LeaderWatch } from "./leader-watch.ts";
import { withRetry, type RetryCounts } from "./retry-policy.ts";
import { sampleServers, serverCpuSplitBetween } from "./server-sample.ts";
import { longestGap, percentile, round } from "./stats.ts";

export interface CaseSpec {
  name: string;
  op: "put" | "get";
  concurrency: number;
  /** When set, the leader is SIGKILLed this far into the case (fraction of the duration). */
  killLeaderAt?: number;
}

export const CASES: readonly CaseSpec[] = [
  { name: "seq-put", op: "put", concurrency: 1 },
  { name: "put-c16", op: "put", concurrency: 16 },
  { name: "put-c64", op: "put", concurrency: 64 },
  { name: "put-c256", op: "put", concurrency: 256 },
  { name: "get-c16", op: "get", concurrency: 16 },
  { name: "get-c64", op: "get", concurrency: 64 },
  { name: "leader-kill", op: "put", concurrency: 16, killLeaderAt: 1 / 3 },
];

export interface Workload {
  durationMs: number;
  value: Buffer;
  /** Puts cycle over this many keys; gets read the first `getKeyCount` of them. */
  keyCount: number;
  getKeyCount: number;
  /** Makes request ids unique across runs. */
  runTag: string;
}

export const keyOf = (i: number): string => `bench/${String(i).padStart(6, "0")}`;

export type CaseResult = Record<string, unknown> & { case: string; opsPerSec: number; latencyMs: { p50: number; p99: number; p999: number; max: number } };

export async function runCase(target: KvTarget, spec: CaseSpec, load: Workload): Promise<CaseResult> {
  const finder = new LeaderFinder(target);
  const retries: RetryCounts = new Map();
  const killedLeader = await finder.leader();
  const watch = spec.killLeaderAt === undefined ? await LeaderWatch.start(target) : undefined;
  let killAtMs: number | undefined;
  let killed: Promise<void> = Promise.resolve();
  let counter = 0;
  const op = (worker: number, seq: number): Promise<void> => {
    const n = counter++;
    if (spec.op === "get") return withRetry(finder, retries, (e, t) => target.get(e, keyOf((worker * 7919 + seq) % load.getKeyCount), t));
    const id = `${load.runTag}-${spec.name}-${n}`;
    return withRetry(finder, retries, (e, t) => target.put(e, keyOf(n % load.keyCount), load.value, id, t));
  };
  const before = sampleServers(target);
  const onStart = (t0: number) => {
    if (spec.killLeaderAt === undefined || killedLeader === undefined) return;
    setTimeout(() => {
      killAtMs = performance.now() - t0;
      killed = target.kill(killedLeader);
    }, spec.killLeaderAt * load.durationMs);
  };
  const result = await closedLoop(spec.concurrency, load.durationMs, op, onStart);
  await killed;
  const after = sampleServers(target);
  const leaderChanges = watch === undefined ? undefined : await watch.stop();
  const cpu = serverCpuSplitBetween(before, after);
  return describe(spec, load, result, { cpuMs: cpu.user + cpu.system, cpuSystemMs: cpu.system, rssMb: after.rssMb, retries, leaderChanges, lookups: finder.lookupCount, killAtMs });
}

interface Extras {
  cpuMs: number;
  cpuSystemMs: number;
  rssMb: number[];
  retries: RetryCounts;
  leaderChanges: number | undefined;
  lookups: number;
  killAtMs: number | undefined;
}

function describe(spec: CaseSpec, load: Workload, r: LoadResult, x: Extras): CaseResult {
  const ops = r.latenciesMs.length;
  const fault = spec.killLeaderAt !== undefined;
  return {
    case: spec.name,
    op: spec.op,
    concurrency: spec.concurrency,
    durationSec: round(r.wallMs / 1000, 2),
    valueBytes: load.value.length,
    ops,
    errors: r.errors,
    opsPerSec: Math.round((ops / r.wallMs) * 1000),
    latencyMs: { p50: round(percentile(r.latenciesMs, 50)), p99: round(percentile(r.latenciesMs, 99)), p999: round(percentile(r.latenciesMs, 99.9)), max: round(r.latenciesMs.at(-1) ?? 0) },
    // With a node killed mid-case its CPU is lost, so per-op CPU is only given for fault-free cases.
    serverCpuMsPerOp: fault || ops === 0 ? null : round(x.cpuMs / ops, 4),
    serverCpuPct: fault ? null : round((x.cpuMs / r.wallMs) * 100, 1),
    // The kernel's part of serverCpuMsPerOp (fsync, sockets); the rest is user space.
    serverSysShare: fault || x.cpuMs === 0 ? null : round(x.cpuSystemMs / x.cpuMs, 2),
    loadgenCpuPct: round(r.loadgenCpuPct, 1),
    rssMb: x.rssMb.map((m) => round(m, 1)),
    retries: Object.fromEntries(x.retries),
    leaderLookups: x.lookups,
    ...(x.leaderChanges !== undefined ? { leaderChanges: x.leaderChanges } : {}),
    ...(fault ? { killAtMs: round(x.killAtMs ?? -1, 1), writeGapMs: round(longestGap(r.ackAtMs)) } : {}),
    ...(r.errors > 0 ? { errorKinds: r.errorKinds } : {}),
  };
}

/** Writes the keys the get cases read (not measured), so that every get finds its key. */
export async function prefill(target: KvTarget, load: Workload): Promise<void> {
  const finder = new LeaderFinder(target);
  const retries: RetryCounts = new Map();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < load.getKeyCount; i = next++) {
      const id = `${load.runTag}-prefill-${i}`;
      await withRetry(finder, retries, (e, t) => target.put(e, keyOf(i), load.value, id, t));
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

/** Unmeasured puts at concurrency 16 for `durationMs` (JIT, connections and caches warm up). */
export async function warmUp(target: KvTarget, load: Workload, durationMs: number): Promise<void> {
  const finder = new LeaderFinder(target);
  const retries: RetryCounts = new Map();
  let n = 0;
  await closedLoop(16, durationMs, () => {
    const i = n++;
    return withRetry(finder, retries, (e, t) => target.put(e, keyOf(i % load.keyCount), load.value, `${load.runTag}-warmup-${i}`, t));
  });
}

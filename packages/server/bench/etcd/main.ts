// `npm run bench:etcd`: omnimeta against etcd 3.4, side by side on this machine. Each round starts a
// fresh 3-node cluster of one system at a time (etcd, then omnimeta; A B A B…), runs every case of
// cases.ts with the same gRPC unary client, and stops it. Prints one JSON line per case per system
// per round, then one summary line of omnimeta/etcd ratios (ratios.ts). Nothing is installed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseBenchArgs, USAGE, type BenchOptions } from "./args.ts";
import { CASES, prefill, runCase, warmUp, type Workload } from "./cases.ts";
import { etcdInstalled, EtcdCluster } from "./etcd-cluster.ts";
import type { KvTarget, SystemName } from "./kv-target.ts";
import { OmnimetaCluster } from "./omnimeta-cluster.ts";
import { summarize, type ResultLine } from "./ratios.ts";
import { RETRY_POLICY } from "./retry-policy.ts";
import { sampleServers, serverCpuMsBetween } from "./server-sample.ts";
import { round } from "./stats.ts";

/** After start, the cluster idles this long; idle RSS and idle CPU are measured over it. */
const SETTLE_MS = 2000;
/** Unmeasured puts at concurrency 16 before the first case, so that no case runs on a cold process. */
const WARMUP_MS_MAX = 2000;
const PAUSE_BETWEEN_CASES_MS = 300;

function print(line: Record<string, unknown>): void {
  console.log(JSON.stringify(line));
}

function gitCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

function startSystem(system: SystemName, runDir: string): Promise<KvTarget> {
  return system === "etcd" ? EtcdCluster.start(join(runDir, "etcd")) : OmnimetaCluster.start(join(runDir, "omnimeta"));
}

/** One system for one round: a fresh cluster, idle RSS, every selected case, then the cluster is gone. */
async function runRound(round_: number, system: SystemName, options: BenchOptions, load: Workload, rootDir: string): Promise<ResultLine[]> {
  const runDir = mkdtempSync(join(rootDir, `r${round_}-${system}-`));
  const target = await startSystem(system, runDir);
  const lines: ResultLine[] = [];
  try {
    const settled = sampleServers(target);
    await sleep(SETTLE_MS);
    const idle = sampleServers(target);
    const idleRssMb = idle.rssMb.map((m) => round(m, 1));
    const idleCpuPct = round((serverCpuMsBetween(settled, idle) / SETTLE_MS) * 100, 1);
    await warmUp(target, load, Math.min(WARMUP_MS_MAX, load.durationMs));
    let prefilled = false;
    for (const spec of CASES) {
      if (options.only.length > 0 && !options.only.includes(spec.name)) continue;
      if (spec.op === "get" && !prefilled) {
        await prefill(target, load);
        prefilled = true;
      }
      const line: ResultLine = { round: round_, system, version: target.version, ...(await runCase(target, spec, load)), idleRssMb, idleCpuPct };
      print(line);
      lines.push(line);
      await sleep(PAUSE_BETWEEN_CASES_MS);
    }
  } finally {
    await target.close({ keepData: options.keep });
    if (!options.keep) rmSync(runDir, { recursive: true, force: true });
  }
  return lines;
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message === USAGE ? USAGE : `bench:etcd: ${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (options.systems.includes("etcd") && !etcdInstalled()) {
    console.error("bench:etcd needs etcd 3.4 at /usr/bin/etcd; install it with: sudo apt-get install etcd-server");
    process.exit(1);
  }
  const rootDir = mkdtempSync(join(tmpdir(), "omnimeta-bench-etcd-"));
  if (options.keep) console.error(`bench:etcd: run dir (kept) ${rootDir}`);
  else process.on("exit", () => rmSync(rootDir, { recursive: true, force: true }));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
  const runTag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  const load: Workload = { durationMs: options.durationMs, value: Buffer.alloc(options.valueBytes, 0x61), keyCount: options.keyCount, getKeyCount: options.getKeyCount, runTag };
  print({ bench: "etcd", commit: gitCommit(), cpus: availableParallelism(), rounds: options.rounds, caseSec: options.durationMs / 1000, valueBytes: options.valueBytes, keys: options.keyCount, getKeys: options.getKeyCount, order: options.systems, retryPolicy: RETRY_POLICY });
  const lines: ResultLine[] = [];
  for (let r = 1; r <= options.rounds; r++) {
    for (const system of options.systems) lines.push(...(await runRound(r, system, options, load, rootDir)));
  }
  print(summarize(lines));
}

await main().catch((e: unknown) => {
  console.error(`bench:etcd: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

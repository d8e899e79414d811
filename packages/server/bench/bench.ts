// `npm run bench`: starts 3 local metad processes (fsync on), provisions and joins them, then prints
// ONE JSON LINE PER CASE: sequential puts, puts at concurrency 16/64/256 and linearizable gets at
// 16/64 over Session streams, idle and loaded RSS per node, and the client-visible write gap after
// SIGKILL of the leader. Every line carries the load generator's own CPU use (percent of one core).

import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { ProcessCluster } from "../test/e2e/process-cluster.ts";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MetadataService } from "@omnimeta/proto";
import { SessionClient } from "./session-client.ts";

const CASE_MS = Number(process.env.BENCH_CASE_MS ?? 5000);
const SESSIONS = 4;
const value = new Uint8Array(100).fill(0x61);

/** A Session on its own HTTP/2 connection, with no deadline (a stream lives as long as the case). */
function session(address: string): SessionClient {
  return new SessionClient(createClient(MetadataService, createGrpcTransport({ baseUrl: address })));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const ms = (x: number): number => +x.toFixed(3);

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? +(Number(m[1]) / 1024).toFixed(1) : 0;
}

/** Runs `concurrency` loops of `op` for CASE_MS; returns throughput, latency percentiles and loadgen CPU. */
async function load(concurrency: number, op: (worker: number, seq: number) => Promise<unknown>, durationMs = CASE_MS) {
  const latencies: number[] = [];
  let errors = 0;
  const errorKinds = new Map<string, number>();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let seq = 0; performance.now() < deadline; seq++) {
        const s = performance.now();
        try {
          await op(w, seq);
          latencies.push(performance.now() - s);
        } catch (e) {
          errors++;
          const kind = (e as Error).message.slice(0, 80);
          errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
        }
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return {
    ops: latencies.length,
    errors,
    opsPerSec: Math.round((latencies.length / wallMs) * 1000),
    p50Ms: ms(percentile(latencies, 50)),
    p99Ms: ms(percentile(latencies, 99)),
    loadgenCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100),
    ...(errors > 0 ? { errorKinds: Object.fromEntries(errorKinds) } : {}),
  };
}

/** BENCH_ONLY=substring runs only the load cases whose name contains it (RSS lines always print). */
const only = process.env.BENCH_ONLY;
const selected = (name: string): boolean => only === undefined || name.includes(only);

function print(line: Record<string, unknown>): void {
  console.log(JSON.stringify(line));
}

async function main(): Promise<void> {
  const cluster = new ProcessCluster();
  const cleanup = () => void cluster.close();
  process.once("SIGINT", cleanup);
  try {
    await cluster.startProvisioned(3);
    print({ case: "rss-idle", rssMbPerNode: cluster.nodes.map((n) => rssMb(n.pid)) });

    // Sessions go straight to the leader (no forwarding hop); before each case they follow it if it moved.
    let sessions: SessionClient[] = [];
    let leaderAddr = "";
    const toLeader = async (): Promise<number> => {
      const leader = await cluster.leaderIndex();
      if (cluster.nodes[leader]!.address !== leaderAddr || sessions.some((x) => x.broken)) {
        for (const x of sessions) x.close();
        leaderAddr = cluster.nodes[leader]!.address;
        sessions = Array.from({ length: SESSIONS }, () => session(leaderAddr));
      }
      return leader;
    };
    const run = randomUUID().slice(0, 8);
    const putOp = (prefix: string) => (w: number, seq: number) =>
      sessions[w % SESSIONS]!.put(`bench/${prefix}/${w}/${seq % 1000}`, value, `${run}-${prefix}-${w}-${seq}`);

    if (selected("put-sequential")) {
      await toLeader();
      print({ case: "put-sequential", valueBytes: 100, ...(await load(1, putOp("seq"))) });
    }
    for (const c of [16, 64, 256]) {
      if (!selected(`put-concurrency-${c}`)) continue;
      await toLeader();
      print({ case: `put-concurrency-${c}`, valueBytes: 100, ...(await load(c, putOp(`c${c}`))) });
    }
    // Reads hit keys that exist (a NOT_FOUND would count as an error).
    const readKeys = 256;
    await toLeader();
    await Promise.all(Array.from({ length: readKeys }, (_, i) => sessions[i % SESSIONS]!.put(`bench/read/${i}`, value, `${run}-read-${i}`)));
    for (const c of [16, 64]) {
      if (!selected(`get-linearizable-concurrency-${c}`)) continue;
      await toLeader();
      print({ case: `get-linearizable-concurrency-${c}`, ...(await load(c, (w, seq) => sessions[w % SESSIONS]!.get(`bench/read/${(w * 31 + seq) % readKeys}`))) });
    }
    print({ case: "rss-loaded", rssMbPerNode: cluster.nodes.map((n) => rssMb(n.pid)) });
    const leader = await toLeader();
    for (const x of sessions) x.close();

    if (selected("leader-kill-write-gap")) print({ case: "leader-kill-write-gap", ...(await leaderKillGap(cluster, leader, run)) });
  } finally {
    await cluster.close();
  }
}

/**
 * Writers at concurrency 16 on Sessions to the two followers (which forward to the leader) run
 * before, across and after a SIGKILL of the leader. writeGapMs is the longest time without any
 * acknowledged write (the client-visible outage); killToResumeMs is from the kill to the first
 * acknowledgement of a write SENT after the kill (writes in flight at the kill may still land).
 */
async function leaderKillGap(cluster: ProcessCluster, leader: number, run: string) {
  const followers = [0, 1, 2].filter((i) => i !== leader).map((i) => cluster.nodes[i]!.address);
  let sessions = followers.map((a) => session(a));
  const acks: number[] = [];
  const acksOfWritesSentAfterKill: number[] = [];
  let killAt = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const durationMs = 6000;
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      for (let seq = 0; performance.now() - t0 < durationMs; seq++) {
        const i = (w + seq) % sessions.length;
        if (sessions[i]!.broken) sessions[i] = session(followers[i]!);
        try {
          const sentAfterKill = killAt !== 0;
          await sessions[i]!.put(`bench/kill/${w}/${seq % 100}`, value, `${run}-kill-${w}-${seq}`);
          acks.push(performance.now());
          if (sentAfterKill) acksOfWritesSentAfterKill.push(performance.now());
        } catch {
          await new Promise((r) => setTimeout(r, 5));
        }
        if (killAt === 0 && performance.now() - t0 > 1500) {
          killAt = performance.now();
          void cluster.nodes[leader]!.kill("SIGKILL");
        }
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  for (const s of sessions) s.close();
  acks.sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < acks.length; i++) gap = Math.max(gap, acks[i]! - acks[i - 1]!);
  const firstAfter = Math.min(...acksOfWritesSentAfterKill);
  return {
    writeGapMs: Math.round(gap),
    killToResumeMs: Number.isFinite(firstAfter) ? Math.round(firstAfter - killAt) : null,
    acknowledgedBeforeKill: acks.filter((t) => t <= killAt).length,
    acknowledgedAfterKill: acks.filter((t) => t > killAt).length,
    loadgenCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100),
  };
}

await main();

// The fuzz run: a live 3-node cluster of real metad processes, seeded keys, then for `timeMs` random and
// malformed requests on every RPC over Connect, Connect JSON/HTTP/1.1, gRPC and gRPC-web, wire attacks on
// the peer port and slow-loris connections. Afterwards: every node still runs, no answer was INTERNAL or
// UNKNOWN, no write outside the scratch prefix succeeded, the keys outside it are as before, the
// membership is the same and the nodes' memory stayed under a bound. One seed reproduces the inputs.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { ProcessCluster } from "../cluster/process-cluster.ts";
import { Prng } from "../util/prng.ts";
import { fuzzRequest, SCRATCH_PREFIX, type FuzzRequest, type FuzzWorld } from "./arbitraries.ts";
import { PROTOCOLS, RpcFuzzer } from "./rpc-fuzzer.ts";
import { slowLoris, WIRE_ATTACKS, wireAttack } from "./wire-attacks.ts";

export interface FuzzOptions {
  timeMs: number;
  seed: number;
  /** Keep going past timeMs until this many RPCs were sent (at most 5 x timeMs in all: a loaded machine; default 0). */
  requestsMin?: number;
  /** Concurrent RPC senders (default 12). */
  concurrency?: number;
  /** Slow-loris connections held open for the whole run (default 40). */
  slowLorisCount?: number;
  /** RSS any node may reach (default 512 MiB). */
  rssBytesMax?: number;
  log?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  durationMs: number;
  requests: number;
  byRpc: Record<string, number>;
  byProtocol: Record<string, number>;
  byOutcome: Record<string, number>;
  wireAttacks: Record<string, number>;
  slowLorisConnections: number;
  slowLorisBytes: number;
  keysCompared: number;
  rssMaxBytes: Record<string, number>;
  failures: string[];
}

/** Codes that say the server did not understand its own failure (or crashed mid-answer). */
const improperOutcomes = new Set(["internal", "unknown", "data_loss"]);
const writeRpcs = new Set(["Put", "Delete"]);

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const log = o.log ?? (() => undefined);
  const cluster = await ProcessCluster.start({ size: 3, direct: true });
  const failures: string[] = [];
  const report: FuzzReport = {
    seed: o.seed, durationMs: 0, requests: 0, byRpc: {}, byProtocol: {}, byOutcome: {}, wireAttacks: {},
    slowLorisConnections: o.slowLorisCount ?? 40, slowLorisBytes: 0, keysCompared: 0, rssMaxBytes: {}, failures,
  };
  try {
    const addresses = cluster.nodes.map((n) => n.address);
    const world = await seed(cluster);
    const before = await snapshot(cluster);
    log(`seeded ${world.seeded.size} keys; fuzzing for ${o.timeMs} ms (seed ${o.seed})`);
    const rss = watchRss(cluster, report.rssMaxBytes);
    const loris = slowLoris(cluster.nodes[0]!.spec.port, report.slowLorisConnections, 300);
    const started = Date.now();
    const hardDeadline = started + 5 * o.timeMs;
    const going = (): boolean => {
      const now = Date.now();
      return now < started + o.timeMs || (report.requests < (o.requestsMin ?? 0) && now < hardDeadline);
    };
    const arb = fuzzRequest(world);
    const fuzzer = new RpcFuzzer(3000);
    const bump = (m: Record<string, number>, k: string): void => void (m[k] = (m[k] ?? 0) + 1);
    const sender = async (worker: number): Promise<void> => {
      const prng = new Prng(o.seed * 1000 + worker);
      let batch: FuzzRequest[] = [];
      let batchNo = 0;
      while (going()) {
        if (batch.length === 0) batch = fc.sample(arb, { seed: o.seed * 7919 + worker * 104_729 + batchNo++, numRuns: 200 });
        const req = batch.pop()!;
        const protocol = prng.pick(PROTOCOLS);
        const outcome = await fuzzer.send(prng.pick(addresses), protocol, req);
        report.requests++;
        bump(report.byRpc, req.rpc);
        bump(report.byProtocol, protocol);
        bump(report.byOutcome, outcome);
        if (improperOutcomes.has(outcome) && failures.length < 50) failures.push(`${req.rpc} over ${protocol} answered ${outcome}: ${describe(req)}`);
        if (outcome === "ok" && writeRpcs.has(req.rpc) && !("key" in req.input && (req.input.key as string).startsWith(SCRATCH_PREFIX))) {
          failures.push(`${req.rpc} outside the scratch prefix succeeded: ${describe(req)}`);
        }
      }
    };
    const attacker = async (): Promise<void> => {
      const prng = new Prng(o.seed + 17);
      while (going()) {
        const kind = prng.pick(WIRE_ATTACKS);
        await wireAttack(kind, prng.pick(cluster.nodes).spec.port, prng);
        bump(report.wireAttacks, kind);
      }
    };
    const progress = setInterval(() => log(`${report.requests} requests, ${Object.values(report.wireAttacks).reduce((a, b) => a + b, 0)} wire attacks`), 10_000);
    await Promise.all([...Array.from({ length: o.concurrency ?? 12 }, (_, i) => sender(i)), attacker(), attacker()]);
    clearInterval(progress);
    report.durationMs = Date.now() - started;
    report.slowLorisBytes = loris.bytesSent();
    loris.stop();
    rss.stop();
    await checkAfter(cluster, before, report, o.rssBytesMax ?? 512 * 1024 * 1024);
  } catch (e) {
    failures.push(`the run itself failed: ${(e as Error).message}`);
  } finally {
    await cluster.close({ keepData: failures.length > 0 });
    if (failures.length > 0) log(`logs kept in ${cluster.runDir}`);
  }
  return report;
}

async function seed(cluster: ProcessCluster): Promise<FuzzWorld> {
  const c = cluster.client("n1").metadata;
  const seeded = new Map<string, bigint>();
  for (let i = 0; i < 40; i++) {
    const key = i % 4 === 0 ? `seed/${i}/ünï-€` : `seed/${i}`;
    let r = await c.put({ key, value: new TextEncoder().encode(`v${i}`), requestId: `seed-${i}` }, { timeoutMs: 10_000 });
    if (i % 5 === 0) r = await c.put({ key, value: new TextEncoder().encode(`w${i}`), requestId: `seed-${i}-b` }, { timeoutMs: 10_000 });
    seeded.set(key, r.version);
  }
  const status = await cluster.status("n1", 3000);
  return { clusterId: status.clusterId, seeded, memberNames: cluster.nodes.map((n) => n.name) };
}

/** Every key outside the scratch prefix, as "key version modRevision value(base64)". */
async function snapshot(cluster: ProcessCluster): Promise<string[]> {
  const c = cluster.client("n1").metadata;
  const out: string[] = [];
  let pageToken = "";
  for (;;) {
    const page = await c.list({ prefix: "", limit: 1000, pageToken }, { timeoutMs: 10_000 });
    for (const kv of page.kvs) {
      if (!kv.key.startsWith(SCRATCH_PREFIX)) out.push(`${kv.key} ${kv.version} ${kv.modRevision} ${Buffer.from(kv.value).toString("base64")}`);
    }
    if (page.nextPageToken === "") return out;
    pageToken = page.nextPageToken;
  }
}

async function checkAfter(cluster: ProcessCluster, before: string[], report: FuzzReport, rssBytesMax: number): Promise<void> {
  const failures = report.failures;
  for (const n of cluster.nodes) {
    if (n.state !== "running") failures.push(`${n.name} is ${n.state}: it crashed during the run`);
    const logText = readFileSync(n.spec.logPath, "utf8");
    for (const pattern of [/unhandled/i, /uncaught/i, /"msg":"fatal/, /FATAL ERROR/, /heap out of memory/]) {
      if (pattern.test(logText)) failures.push(`${n.name}'s log matches ${pattern}`);
    }
  }
  if (failures.some((f) => f.includes("crashed"))) return;
  await cluster.waitHealthy(30_000);
  const after = await snapshot(cluster);
  report.keysCompared = before.length;
  if (JSON.stringify(after) !== JSON.stringify(before)) {
    const gone = before.filter((k) => !after.includes(k));
    const added = after.filter((k) => !before.includes(k));
    failures.push(`the keys changed: ${gone.length} gone or changed (${gone.slice(0, 3).join("; ")}), ${added.length} new or changed (${added.slice(0, 3).join("; ")})`);
  }
  const members = await cluster.client("n1").cluster.listMembers({}, { timeoutMs: 3000 });
  const names = members.configuration!.members.map((m) => m.name).sort().join(",");
  if (names !== "n1,n2,n3") failures.push(`the membership changed: ${names}`);
  for (const [name, bytes] of Object.entries(report.rssMaxBytes)) {
    if (bytes > rssBytesMax) failures.push(`${name} reached ${Math.round(bytes / 2 ** 20)} MiB RSS (bound ${Math.round(rssBytesMax / 2 ** 20)} MiB)`);
  }
}

function watchRss(cluster: ProcessCluster, max: Record<string, number>): { stop(): void } {
  const sample = (): void => {
    for (const n of cluster.nodes) {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${n.pid}/status`, "utf8"));
        if (m) max[n.name] = Math.max(max[n.name] ?? 0, Number(m[1]) * 1024);
      } catch {
        // Not Linux, or the process is gone (the crash check reports it).
      }
    }
  };
  sample();
  const timer = setInterval(sample, 500);
  return { stop: () => clearInterval(timer) };
}

function describe(req: FuzzRequest): string {
  const s = JSON.stringify(req, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : typeof v === "string" && v.length > 80 ? `${v.slice(0, 40)}…(${v.length} chars)` : v));
  return s.length > 400 ? `${s.slice(0, 400)}…` : s;
}

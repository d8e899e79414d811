// One fault run: a process cluster, N workload clients on a few hot keys, the nemesis acting every
// few seconds; then heal, final reads, and the linearizability check of the recorded history.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkEvents, type CheckResult } from "../linearizability/check.ts";
import { pairOperations, partitionByKey, resolveObservedWrites } from "../linearizability/history.ts";
import { renderAnomalyHtml } from "../linearizability/visualize.ts";
import { ProcessCluster } from "../cluster/process-cluster.ts";
import { Nemesis, type NemesisKind, type FaultRecord } from "../nemesis/nemesis.ts";
import { Prng } from "../util/prng.ts";
import { ClientWorker, type NodeTarget } from "../workload/client-worker.ts";
import { SessionMux } from "../workload/session-mux.ts";
import { HistoryRecorder } from "../workload/history-recorder.ts";
import { FINAL_READER_PROCESS, finalReads } from "./final-reads.ts";
import type { SnapshotRead } from "../linearizability/observations.ts";
import { SnapshotReader, type ReadTarget } from "../workload/snapshot-reader.ts";
import { NodeWatcher } from "../workload/node-watcher.ts";
import { judgeWider, type WiderVerdict } from "./wider-checks.ts";

export interface RunOptions {
  nodes: number;
  timeS: number;
  nemesis: readonly NemesisKind[];
  seed: number;
  clients: number;
  keys: number;
  /** OMNIMETA_UNSAFE for every node ("" for none). */
  unsafe: string;
  /** Where the history, verdict and anomaly pages go. */
  outDir: string;
  nemesisIntervalMs: number;
  nemesisHoldMs: number;
  killAllRate: number;
  duplicateRate: number;
  thinkMs: number;
  /** How workload clients talk to nodes: unary RPCs, pipelined Session streams, or half and half. */
  transport: "unary" | "session" | "mixed";
  /** Reader processes doing Lists and serializable Gets (besides one watcher per node). */
  readers: number;
  /** metad --compaction-slots for every node (0: the default). Small values make lagging and restarted
   *  nodes catch up by snapshot, so the snapshot path runs under every nemesis. */
  compactionSlots: number;
  log: (line: string) => void;
}

export interface Verdict {
  valid: boolean | "unknown";
  seed: number;
  nodes: number;
  timeS: number;
  nemesis: readonly NemesisKind[];
  unsafe: string;
  ops: number;
  ok: number;
  fail: number;
  info: number;
  faults: Record<string, number>;
  /** Faults after which the cluster did not become healthy within the recovery timeout. */
  unrecovered: number;
  /** Final reads that never got an answer (they leave "no acknowledged write lost" unproven). */
  finalReadsUnanswered: number;
  /** Set when the harness itself failed (e.g. a node could not be restarted); the run is then cut short. */
  harnessError?: string;
  /** Each anomaly; lostOrStaleAtEnd: a final read after healing is in the witness (e.g. a lost write). */
  anomalies: { key: string; explanation: string[]; timeline: string; lostOrStaleAtEnd: boolean }[];
  /** One line per fault: what, when, how long the cluster took to recover. */
  faultDetails: string[];
  keys: CheckResult["keys"];
  /** The List, serializable-read and watch checks (counts, and anomalies by kind). */
  wider: WiderVerdict;
  checkMs: number;
  history: string;
  runDir: string;
  faultLog: FaultRecord[];
}

export const defaultRunOptions: Omit<RunOptions, "outDir" | "log"> = {
  nodes: 3,
  timeS: 60,
  nemesis: ["kill", "pause", "partition", "member"],
  seed: 1,
  clients: 8,
  keys: 3,
  unsafe: "",
  nemesisIntervalMs: 3000,
  nemesisHoldMs: 3000,
  killAllRate: 0.2,
  duplicateRate: 0.05,
  thinkMs: 10,
  transport: "mixed",
  readers: 2,
  compactionSlots: 0,
};

export async function runJepsen(o: RunOptions): Promise<Verdict> {
  const outDir = resolve(o.outDir);
  mkdirSync(outDir, { recursive: true });
  const runDir = join(outDir, "cluster");
  const rng = new Prng(o.seed);
  const keys = Array.from({ length: o.keys }, (_, i) => `k${i}`);
  o.log(`run: ${outDir} (seed ${o.seed}); starting ${o.nodes} nodes`);
  const cluster = await ProcessCluster.start({ size: o.nodes, runDir, unsafe: o.unsafe, nodeArgs: o.compactionSlots > 0 ? ["--compaction-slots", String(o.compactionSlots)] : [] });
  const recorder = new HistoryRecorder(join(outDir, "history.jsonl"));
  const nemesis = new Nemesis(cluster, new Prng(rng.nextU32()), {
    kinds: o.nemesis,
    intervalMs: o.nemesisIntervalMs,
    holdMs: o.nemesisHoldMs,
    recoveryTimeoutMs: 30_000,
    killAllRate: o.killAllRate,
  }, o.log);
  let unanswered = 0;
  let harnessError: string | undefined;
  let closeSessions = () => {};
  const reads: SnapshotRead[] = [];
  let watchers: NodeWatcher[] = [];
  try {
    const sessions = new Map(cluster.nodes.map((n) => [n.name, new SessionMux(cluster.client(n.name))]));
    closeSessions = () => sessions.forEach((s) => s.close());
    const unaryTargets = () => cluster.nodes.map((n): NodeTarget => ({ client: cluster.client(n.name) }));
    const sessionTargets = () => cluster.nodes.map((n): NodeTarget => ({ client: cluster.client(n.name), session: sessions.get(n.name) }));
    const targetsOf = (p: number) => (o.transport === "session" || (o.transport === "mixed" && p % 2 === 1) ? sessionTargets : unaryTargets);
    const workload = { keys, opTimeoutMs: 8000, attemptTimeoutMs: 1500, thinkMs: o.thinkMs, duplicateRate: o.duplicateRate, runId: `r${o.seed}-${Date.now().toString(36)}` };
    const workers = Array.from({ length: o.clients }, (_, p) => new ClientWorker(p, targetsOf(p), recorder, new Prng(rng.nextU32()), workload));
    const readTargets = () => cluster.nodes.map((n): ReadTarget => ({ name: n.name, client: cluster.client(n.name), incarnation: () => n.incarnation }));
    const nowUs = () => recorder.nowUs();
    const readers = Array.from({ length: o.readers }, (_, i) => new SnapshotReader(READER_PROCESS + i, readTargets, nowUs, new Prng(rng.nextU32()), keys, reads, 1500));
    const relister = new SnapshotReader(READER_PROCESS + o.readers, readTargets, nowUs, new Prng(rng.nextU32()), keys, reads, 1500);
    watchers = readTargets().map((t) => new NodeWatcher(t, "k", 1, nowUs, relister));
    const watching = watchers.map((w) => w.run());
    let endAt = Date.now() + o.timeS * 1000;
    const stopped = () => Date.now() >= endAt;
    o.log(`run: ${o.clients} clients (${o.transport}) on ${keys.join(",")} for ${o.timeS} s; nemesis ${o.nemesis.join(",") || "none"}`);
    // A harness failure (e.g. a node that cannot restart) ends the run early; the history so far is still checked.
    const nemesisRun = (o.nemesis.length > 0 ? nemesis.run(stopped) : Promise.resolve()).catch((e: Error) => {
      harnessError = `nemesis: ${e.message}`;
      endAt = 0;
    });
    await Promise.all([...workers.map((w) => w.run(stopped)), ...readers.map((r) => r.run(stopped)), nemesisRun]);
    o.log(`run: ${harnessError ?? "healing and waiting for a healthy cluster"}`);
    try {
      await nemesis.healAll();
      await cluster.waitHealthy(60_000);
    } catch (e) {
      harnessError ??= `heal: ${(e as Error).message}`;
      o.log(`run: ${(e as Error).message}`);
    }
    unanswered = await finalReads(cluster, keys, recorder, 20_000);
    await catchUp(watchers, recorder, 15_000);
    watchers.forEach((w) => w.stop());
    await Promise.all(watching);
  } finally {
    watchers.forEach((w) => w.stop());
    closeSessions();
    await recorder.close();
    await nemesis.healAll().catch(() => {});
    await cluster.close({ keepData: true });
  }
  writeFileSync(join(outDir, "reads.jsonl"), reads.map((r) => JSON.stringify(r) + "\n").join(""));
  writeFileSync(join(outDir, "watches.json"), JSON.stringify(watchers.map((w) => w.stream)) + "\n");
  const wider = judgeWider(recorder.events, reads, watchers.map((w) => w.stream), keys);
  const verdict = judge(o, recorder, nemesis, { unanswered, harnessError, wider }, outDir, runDir);
  // A passing run keeps its history and node logs; only a failing one keeps the data dirs too.
  if (verdict.valid === true) for (const node of cluster.nodes) rmSync(node.spec.dataDir, { recursive: true, force: true });
  return verdict;
}

function judge(o: RunOptions, recorder: HistoryRecorder, nemesis: Nemesis, end: { unanswered: number; harnessError?: string; wider: WiderVerdict }, outDir: string, runDir: string): Verdict {
  const started = Date.now();
  const result = checkEvents(recorder.events);
  const checkMs = Date.now() - started;
  const ops = pairOperations(recorder.events);
  const byKey = partitionByKey(resolveObservedWrites(ops));
  const anomalies = result.anomalies.map((a, i) => {
    const timeline = join(outDir, `anomaly-${i + 1}-${a.key}.html`);
    writeFileSync(timeline, renderAnomalyHtml(a, byKey.get(a.key) ?? []));
    return { key: a.key, explanation: a.explanation, timeline, lostOrStaleAtEnd: a.strict.some((op) => op.process >= FINAL_READER_PROCESS) };
  });
  const count = (t: string) => ops.filter((op) => op.status === t).length;
  const verdict: Verdict = {
    valid: end.wider.anomalies > 0 ? false : result.valid,
    seed: o.seed,
    nodes: o.nodes,
    timeS: o.timeS,
    nemesis: o.nemesis,
    unsafe: o.unsafe,
    ops: ops.length,
    ok: count("ok"),
    fail: count("fail"),
    info: count("info"),
    faults: nemesis.counts(),
    faultDetails: nemesis.faults.map((f) => `${(f.startMs / 1000).toFixed(1)}s ${f.kind}: ${f.detail}; ${f.recoveryMs === undefined ? "did not recover" : `recovered ${f.recoveryMs} ms after heal`}`),
    unrecovered: nemesis.faults.filter((f) => f.recoveryMs === undefined).length,
    finalReadsUnanswered: end.unanswered,
    ...(end.harnessError === undefined ? {} : { harnessError: end.harnessError }),
    anomalies,
    keys: result.keys,
    wider: end.wider,
    checkMs,
    history: join(outDir, "history.jsonl"),
    runDir,
    faultLog: nemesis.faults,
  };
  writeFileSync(join(outDir, "verdict.json"), JSON.stringify(verdict, null, 2) + "\n");
  return verdict;
}

/** Reader process ids in the recorded reads (workload clients are 0..N-1, final readers 1000+). */
const READER_PROCESS = 2000;

/** Waits until every watcher delivered past the highest acknowledged write (or the timeout). */
async function catchUp(watchers: readonly NodeWatcher[], recorder: HistoryRecorder, timeoutMs: number): Promise<void> {
  let target = 0;
  for (const e of recorder.events) {
    if (e.type === "ok" && (e.output?.kind === "written" || e.output?.kind === "deleted")) target = Math.max(target, e.output.revision ?? 0);
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && watchers.some((w) => w.delivered < target)) await new Promise((r) => setTimeout(r, 100));
}

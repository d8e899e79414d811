// bench:join — what a 4th node costs to join a loaded 3-node cluster of real metad processes (issue 12,
// "State at any size"): preloads N keys × value size, measures a few writers for a window, starts a 4th
// node with --join, and reports one JSON line: time until the joiner has applied everything and serves
// the last key (a serializable get on it), peak RSS of the sender (leader) and of the receiver, the
// largest peer batch and frame (from /metrics), the writers' throughput during the join against before,
// and the leader changes seen. A script, not a test: it measures, it does not judge (the targets are
// printed beside the numbers).
import { Code, ConnectError } from "@connectrpc/connect";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeState, ReadConsistency } from "@omnimeta/proto";
import { MetadProcess, NodeClient, ProcessCluster, freePort, waitFor } from "@omnimeta/testkit";
import { parseJoinArgs, USAGE, type JoinBenchOptions } from "./args.ts";
import { keyName, preload } from "./preload.ts";
import { cpuSecondsOf, HeapSampler, memoryOf, RssSampler } from "./proc-memory.ts";
import { metricValue, scrapeMetrics } from "./scrape.ts";
import { Writers } from "./writers.ts";
import { LeaderTracker } from "./leader-tracker.ts";

const PREFIX = "bench/join/";
const round1 = (x: number) => Math.round(x * 10) / 10;
const log = (msg: string) => process.stderr.write(`[bench:join] ${msg}\n`);

/** Connection resets seen (a node process went away under a client); counted, not fatal. */
let connectionResets = 0;

async function main(): Promise<void> {
  // connect-node's HTTP/2 session can emit an unhandled ECONNRESET when a node dies under it.
  // So can a session whose keep-alive PING went unanswered (a node's event loop stalled: counted too).
  process.on("uncaughtException", (e: NodeJS.ErrnoException) => {
    const ce: unknown = e;
    const pingTimeout = ce instanceof ConnectError && ce.code === Code.Unavailable && /PING timed out/.test(ce.rawMessage);
    if (e.code !== "ECONNRESET" && e.code !== "EPIPE" && !pingTimeout) throw e;
    connectionResets++;
    log(`connection reset (${e.message})`);
  });
  let o: JoinBenchOptions;
  try {
    o = parseJoinArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  const runDir = mkdtempSync(join(tmpdir(), "omnimeta-bench-join-"));
  // --cpu-prof-dir: every node writes a V8 CPU profile there, and is stopped with SIGTERM at the end so that
  // the profile is written.
  if (o.cpuProfDir !== undefined) process.env.OMNIMETA_NODE_FLAGS = `${process.env.OMNIMETA_NODE_FLAGS ?? ""} --cpu-prof --cpu-prof-dir=${o.cpuProfDir}`.trim();
  const nodeArgs = [
    ...(o.compactionSlots !== undefined ? ["--compaction-slots", String(o.compactionSlots)] : []),
    ...(o.snapshotSendRate !== undefined ? ["--snapshot-send-rate", String(o.snapshotSendRate)] : []),
  ];
  const cluster = await ProcessCluster.start({ size: 3, runDir, direct: true, nodeArgs });
  let joiner: MetadProcess | undefined;
  try {
    joiner = await run(o, cluster, runDir, nodeArgs);
  } finally {
    if (o.cpuProfDir !== undefined) {
      await Promise.all([joiner, ...cluster.nodes].map((n) => n?.terminate()));
      log(`CPU profiles in ${o.cpuProfDir}`);
    }
    await joiner?.kill();
    await joiner?.closeLog();
    await cluster.close({ keepData: o.keep });
    if (o.keep) log(`run dir kept: ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  }
}

async function run(o: JoinBenchOptions, cluster: ProcessCluster, runDir: string, nodeArgs: string[]): Promise<MetadProcess> {
  const leaderName = await waitFor("a leader", () => cluster.leader(), 20_000, 100);
  log(`preloading ${o.keyCount} keys × ${o.valueBytes} B at ${leaderName}`);
  const tracker = new LeaderTracker(cluster, ["n1", "n2", "n3"]);
  const toLeader = () => cluster.client(tracker.current ?? leaderName).metadata;
  const preloadSeconds = await preload(toLeader, { keyCount: o.keyCount, valueBytes: o.valueBytes, prefix: PREFIX, onProgress: (n) => n % 50_000 === 0 && log(`  ${n}`) });
  const lastKey = keyName(PREFIX, o.keyCount - 1);
  await waitForApplied(cluster, (await cluster.status(tracker.current ?? leaderName)).decidedIdx, 120_000);

  const changesInPreload = tracker.changes;
  const writers = new Writers(toLeader, o.writerCount);
  await sleep(1000);
  const beforeFrom = performance.now();
  await sleep(o.beforeMs);
  const beforeTo = performance.now();

  const changesBeforeJoin = tracker.changes;
  const senderName = (await cluster.leader()) ?? leaderName;
  const sender = cluster.node(senderName);
  const before = await scrapeMetrics(sender.address);
  const target = (await cluster.status(senderName)).appliedIdx;
  const leaderRssBefore = memoryOf(sender.pid!)!;
  const followerName = ["n1", "n2", "n3"].find((n) => n !== senderName)!;
  const followerRss = memoryOf(cluster.node(followerName).pid!)!;
  const port = await freePort();
  const dataDir = join(runDir, "n4");
  mkdirSync(dataDir, { recursive: true });
  const joiner = new MetadProcess({ name: "n4", port, dataDir, logPath: join(runDir, "n4.log"), args: nodeArgs, unsafe: "" });
  joiner.nextStartArgs = ["--join", cluster.nodes.map((n) => n.address).join(",")];
  log(`joining n4 (leader ${senderName} applied ${target}, compacted ${(await cluster.status(senderName)).compactedIdx})`);
  const leaderSampler = new RssSampler([sender.pid!]);
  // CPU used during the join, per role: on a 2-core machine the writers get what the transfer leaves them.
  const followerPids = cluster.nodes.filter((n) => n !== sender).map((n) => n.pid!);
  const cpuOf = (pids: number[]) => pids.reduce((sum, pid) => sum + (cpuSecondsOf(pid) ?? 0), 0);
  const selfCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const cpu0 = { sender: cpuOf([sender.pid!]), followers: cpuOf(followerPids), bench: selfCpu() };
  const t0 = performance.now();
  await joiner.start();
  const joinerSampler = new RssSampler([joiner.pid!]);
  const joinerHeap = new HeapSampler(() => scrapeMetrics(joiner.address), metricValue);
  const joinerClient = new NodeClient(joiner.address);
  let timedOut = false;
  try {
    await waitFor("n4 applied everything and serves the last key", async () => {
      const s = await joinerClient.cluster.status({}, { timeoutMs: 2000 });
      if (s.state !== NodeState.ACTIVE || s.appliedIdx < target) return undefined;
      const r = await joinerClient.metadata.get({ key: lastKey, consistency: ReadConsistency.SERIALIZABLE }, { timeoutMs: 2000 });
      return r.kv?.value.length === o.valueBytes ? true : undefined;
    }, o.joinTimeoutMs, 50);
  } catch (e) {
    timedOut = true;
    log((e as Error).message);
  }
  const t1 = performance.now();
  const joinSec = (t1 - t0) / 1000;
  const cpuShare = (seconds: number) => Math.round((seconds / joinSec) * 100) / 100;
  const cpuDuringJoin = {
    sender: cpuShare(cpuOf([sender.pid!]) - cpu0.sender),
    receiver: cpuShare(cpuOf([joiner.pid!])),
    followers: cpuShare(cpuOf(followerPids) - cpu0.followers),
    benchClient: cpuShare(selfCpu() - cpu0.bench),
  };
  const leaderMem = leaderSampler.stop().get(sender.pid!)!;
  const joinerMem = joinerSampler.stop().get(joiner.pid!)!;
  const joinerHeapPeaks = await joinerHeap.stop();
  const leaderHwm = memoryOf(sender.pid!)?.hwmMb ?? 0;
  const joinerHwm = memoryOf(joiner.pid!)?.hwmMb ?? 0;
  const after = await scrapeMetrics(sender.address);
  const joinerMetrics = await scrapeMetrics(joiner.address).catch(() => "");
  // The writers again once the 4-node configuration is steady: a majority of 4 is 3, so every write now
  // waits for the slower of the leader's two old followers (2 of 3 before): part of the drop is that.
  await sleep(2000);
  const afterFrom = performance.now();
  await sleep(o.beforeMs / 2);
  const afterTo = performance.now();
  await writers.stop();
  tracker.stop();
  joinerClient.close();

  const opsBefore = writers.opsPerSecond(beforeFrom, beforeTo);
  const opsDuring = writers.opsPerSecond(t0, t1);
  const result = {
    bench: "join",
    keys: o.keyCount,
    valueBytes: o.valueBytes,
    stateMb: round1((o.keyCount * o.valueBytes) / 2 ** 20),
    compactionSlots: o.compactionSlots ?? "default",
    snapshotSendRate: o.snapshotSendRate ?? "default",
    preloadSeconds: round1(preloadSeconds),
    joinSeconds: timedOut ? null : round1((t1 - t0) / 1000),
    joinTimedOut: timedOut,
    sender: senderName,
    targetAppliedIdx: Number(target),
    senderRssBeforeMb: round1(leaderRssBefore.rssMb),
    senderRssPeakMb: round1(leaderMem.peakMb),
    senderRssGrowthMb: round1(leaderMem.peakMb - leaderRssBefore.rssMb),
    senderHwmMb: round1(leaderHwm),
    receiverRssFirstMb: round1(joinerMem.firstMb),
    receiverRssPeakMb: round1(joinerMem.peakMb),
    receiverRssGrowthMb: round1(joinerMem.peakMb - joinerMem.firstMb),
    receiverHwmMb: round1(joinerHwm),
    receiverHeapUsedPeakMb: round1(joinerHeapPeaks.heapUsedMb),
    receiverHeapTotalPeakMb: round1(joinerHeapPeaks.heapTotalMb),
    receiverExternalPeakMb: round1(joinerHeapPeaks.externalMb),
    followerRssMb: round1(followerRss.rssMb),
    largestPeerBatchBytesBefore: metricValue(before, "omnimeta_peer_batch_bytes_max") ?? null,
    largestPeerBatchBytes: metricValue(after, "omnimeta_peer_batch_bytes_max") ?? null,
    largestPeerFrameBytes: metricValue(after, "omnimeta_peer_frame_bytes_max") ?? null,
    stateTransferBytesSent: metricValue(after, "omnimeta_state_transfer_bytes_total", { direction: "sent" }) ?? null,
    stateTransferBytesReceived: metricValue(joinerMetrics, "omnimeta_state_transfer_bytes_total", { direction: "received" }) ?? null,
    writers: o.writerCount,
    writerOpsPerSecondBefore: round1(opsBefore),
    writerOpsPerSecondDuringJoin: round1(opsDuring),
    writerThroughputRatio: opsBefore > 0 ? Math.round((opsDuring / opsBefore) * 100) / 100 : null,
    writerOpsPerSecondAfterJoin: round1(writers.opsPerSecond(afterFrom, afterTo)),
    writerLongestGapMsDuringJoin: Math.round(writers.longestGapMs(t0, t1)),
    writerErrors: writers.errors,
    /** Cores used during the join (CPU seconds / join seconds) by the sender, the receiver, the other two
     *  members together, and the bench process (writers and polling). The machine's cores bound the sum. */
    cpuCoresDuringJoin: cpuDuringJoin,
    nodesDown: [...cluster.nodes, joiner].filter((n) => n.state !== "running").map((n) => n.name),
    connectionResets,
    leaderChangesInPreload: changesInPreload,
    leaderChangesBeforeJoin: changesBeforeJoin - changesInPreload,
    leaderChangesDuringJoin: tracker.changes - changesBeforeJoin,
    targets: { joinSeconds: 15, rssGrowthMb: 64, frameBytes: 1024 * 1024, writerThroughputRatio: 0.8 },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return joiner;
}

/** Waits until every node of the cluster has applied `idx`. */
async function waitForApplied(cluster: ProcessCluster, idx: bigint, timeoutMs: number): Promise<void> {
  await waitFor(`every node applied ${idx}`, async () => {
    const statuses = await Promise.all(cluster.nodes.map((n) => cluster.status(n.name, 2000)));
    return statuses.every((s) => s.appliedIdx >= idx) ? true : undefined;
  }, timeoutMs, 200);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

main().catch((e) => {
  process.stderr.write(`bench:join failed: ${(e as Error).stack ?? e}\n${USAGE}\n`);
  process.exit(1);
});

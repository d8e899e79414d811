// bench:compaction — the longest stall a local log compaction causes on a node holding many keys (issue 12).
// Loads --keys small keys into a single real metad whose --compaction-slots equals the key count, so one
// compaction folds (about) the whole state; meanwhile it scrapes /metrics every 100 ms and pings /health
// every 20 ms. Reports one JSON line: load time, compaction duration (omnimeta_compaction_seconds), the
// largest omnimeta_event_loop_delay_max_seconds and omnimeta_flush_seconds bucket in the scrapes around
// the compaction and over the whole load, and the slowest /health answer (the stall as a client sees it).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ProcessCluster } from "@omnimeta/testkit";
import { preload } from "./join/preload.ts";
import { histogramBuckets, metricValue, scrapeMetrics } from "./join/scrape.ts";

const USAGE = "usage: npm run bench:compaction -- [--keys 1000000] [--value-bytes 16] [--keep]";
const log = (msg: string) => process.stderr.write(`[bench:compaction] ${msg}\n`);
const round3 = (x: number) => Math.round(x * 1000) / 1000;

interface Scrape {
  atMs: number;
  compactions: number;
  compactionSeconds: number;
  loopDelayMaxSeconds: number;
  loopDelayMaxSinceStartSeconds: number;
  flushBuckets: Array<[number, number]>;
}

function options() {
  const { values } = parseArgs({ options: { keys: { type: "string" }, "value-bytes": { type: "string" }, keep: { type: "boolean" } }, strict: true });
  const keyCount = Number(values.keys ?? 1_000_000);
  const valueBytes = Number(values["value-bytes"] ?? 16);
  if (!Number.isInteger(keyCount) || keyCount <= 0 || !Number.isInteger(valueBytes) || valueBytes <= 0) throw new Error(USAGE);
  return { keyCount, valueBytes, keep: values.keep === true };
}

/** Upper bound (s) of the longest flush from `a` to `b`: the smallest bucket bound that holds every flush
 *  of the interval (buckets are cumulative). Above the largest finite bound it is that bound as a string
 *  with ">" (JSON has no Infinity: it printed null). Null only when no flush happened. */
function flushMaxBound(a: Scrape, b: Scrape): number | string | null {
  const diffs = b.flushBuckets.map(([le, count], i) => [le, count - (a.flushBuckets[i]?.[1] ?? 0)] as const);
  const total = diffs[diffs.length - 1]?.[1] ?? 0;
  if (total === 0) return null;
  const first = diffs.find(([, d]) => d === total)!;
  if (Number.isFinite(first[0])) return first[0];
  const finite = diffs.filter(([le]) => Number.isFinite(le));
  return `>${finite[finite.length - 1]?.[0] ?? 0}`;
}

async function main(): Promise<void> {
  const o = options();
  const runDir = mkdtempSync(join(tmpdir(), "omnimeta-bench-compaction-"));
  const cluster = await ProcessCluster.start({ size: 1, runDir, direct: true, nodeArgs: ["--compaction-slots", String(o.keyCount)] });
  const node = cluster.node("n1");
  const scrapes: Scrape[] = [];
  let healthMaxMs = 0;
  let stopped = false;
  const scraper = (async () => {
    while (!stopped) {
      const text = await scrapeMetrics(node.address).catch(() => undefined);
      if (text !== undefined) {
        scrapes.push({
          atMs: performance.now(),
          compactions: metricValue(text, "omnimeta_compaction_seconds_count") ?? 0,
          compactionSeconds: metricValue(text, "omnimeta_compaction_seconds_sum") ?? 0,
          loopDelayMaxSeconds: metricValue(text, "omnimeta_event_loop_delay_max_seconds") ?? 0,
          loopDelayMaxSinceStartSeconds: metricValue(text, "omnimeta_event_loop_delay_max_since_start_seconds") ?? 0,
          flushBuckets: histogramBuckets(text, "omnimeta_flush_seconds"),
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const pinger = (async () => {
    while (!stopped) {
      const t = performance.now();
      await fetch(`${node.address}/health`, { signal: AbortSignal.timeout(60_000) }).then((r) => r.arrayBuffer(), () => undefined);
      healthMaxMs = Math.max(healthMaxMs, performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    log(`loading ${o.keyCount} keys × ${o.valueBytes} B (compaction after ${o.keyCount} slots)`);
    const loadSeconds = await preload(() => cluster.client("n1").metadata, { keyCount: o.keyCount, valueBytes: o.valueBytes, prefix: "c/", streams: 4, windowPerStream: 128, onProgress: (n) => n % 100_000 === 0 && log(`  ${n}`) });
    const healthMaxDuringLoadMs = healthMaxMs;
    // A compaction runs after a flush: a trickle of puts makes flushes until one has happened.
    for (let i = 0; !scrapes.some((s) => s.compactions > 0); i++) {
      if (i > 1200) throw new Error("no compaction within 60 s of the load");
      await cluster.client("n1").metadata.put({ key: `tick/${i % 10}`, value: new Uint8Array(1) }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 500)); // the scrape after the one that saw it
    const k = scrapes.findIndex((s) => s.compactions > 0);
    const around = scrapes.slice(Math.max(0, k - 1), k + 2);
    const status = await cluster.status("n1");
    const result = {
      bench: "compaction",
      keys: o.keyCount,
      valueBytes: o.valueBytes,
      loadSeconds: Math.round(loadSeconds),
      loadPutsPerSecond: Math.round(o.keyCount / loadSeconds),
      compactedIdx: Number(status.compactedIdx),
      compactions: scrapes[k]!.compactions,
      compactionSeconds: round3(scrapes[k]!.compactionSeconds / scrapes[k]!.compactions),
      eventLoopDelayMaxSecondsAroundCompaction: round3(Math.max(...around.map((s) => s.loopDelayMaxSeconds))),
      flushSecondsMaxBucketAroundCompaction: flushMaxBound(scrapes[Math.max(0, k - 1)]!, around[around.length - 1]!),
      eventLoopDelayMaxSecondsWholeRun: round3(Math.max(...scrapes.map((s) => Math.max(s.loopDelayMaxSeconds, s.loopDelayMaxSinceStartSeconds)))),
      flushSecondsMaxBucketWholeRun: flushMaxBound(scrapes[0]!, scrapes[scrapes.length - 1]!),
      healthSlowestMsDuringLoad: Math.round(healthMaxDuringLoadMs),
      healthSlowestMsWholeRun: Math.round(healthMaxMs),
      rssMb: null as number | null,
    };
    const { memoryOf } = await import("./join/proc-memory.ts");
    result.rssMb = Math.round(memoryOf(node.pid!)?.hwmMb ?? 0);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    stopped = true;
    await Promise.all([scraper, pinger]);
    await cluster.close({ keepData: o.keep });
    if (o.keep) log(`run dir kept: ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench:compaction failed: ${(e as Error).stack ?? e}\n${USAGE}\n`);
  process.exit(1);
});

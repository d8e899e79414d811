// Storage microbenchmark: latency of one group commit (one fsync) of a small batch, and ops/s of
// batched commits of puts (log slot + KV apply + de-dup + history + decided index in one transaction).
// Run: node --import tsx packages/server/bench/storage-bench.ts   (prints one JSON line per case)

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openNodeStore } from "../src/storage/node-store.ts";
import type { Command } from "../src/state-machine/command.ts";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function runCase(batchSize: number, commits: number): Record<string, number | string> {
  const dir = mkdtempSync(join(tmpdir(), "omnimeta-storage-bench-"));
  const { store, stateMachine } = openNodeStore({ dataDir: dir, name: "bench" });
  const value = new Uint8Array(100).fill(7);
  const latencies: number[] = [];
  let idx = 0;
  const started = performance.now();
  for (let c = 0; c < commits; c++) {
    const slots = [];
    for (let i = 0; i < batchSize; i++) {
      const entry: Command = { kind: "put", key: `bench/${idx % 10_000}`, value, precondition: { kind: "none" }, requestId: `r${idx}` };
      slots.push({ kind: "entry" as const, entry });
      idx++;
    }
    store.appendEntries(slots);
    store.setDecidedIdx(idx);
    for (let i = 0; i < slots.length; i++) stateMachine.apply(idx - slots.length + i + 1, slots[i]!.entry);
    stateMachine.takeEvents();
    latencies.push(store.commit().durationMs);
  }
  const elapsedS = (performance.now() - started) / 1000;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return {
    case: `storage-commit-batch-${batchSize}`,
    commits,
    commitP50Ms: +percentile(latencies, 50).toFixed(3),
    commitP99Ms: +percentile(latencies, 99).toFixed(3),
    putsPerSec: Math.round((commits * batchSize) / elapsedS),
  };
}

for (const [batch, commits] of [[1, 2000], [16, 1000], [256, 200], [1024, 60]] as const) {
  console.log(JSON.stringify(runCase(batch, commits)));
}

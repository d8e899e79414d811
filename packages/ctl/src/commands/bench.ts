// `ctl bench put|get`: closed-loop load from the CLI over the Session stream (so it measures the
// server, not per-call overhead): N workers for a duration, a live progress line on a TTY, and a
// summary (ops/s, p50/p99/p999).

import type { Command } from "commander";
import type { OmnimetaClient } from "@omnimeta/client";
import type { Context, Io } from "../context.ts";
import { action, parseDurationMs, parsePositiveInt, withExamples } from "../command-kit.ts";
import { renderFields } from "../render/table.ts";
import { LatencyRecorder } from "../latency-recorder.ts";

interface BenchOptions { concurrency: number; duration: number; valueSize: number; keys: number; prefix: string; serializable?: boolean }

export interface BenchView {
  op: "put" | "get";
  concurrency: number;
  durationSec: number;
  valueBytes: number;
  keys: number;
  ops: number;
  errors: number;
  opsPerSec: number;
  latencyMs: { mean: number; p50: number; p99: number; p999: number; max: number };
  lastError?: string;
}

export function registerBench(program: Command, io: Io): void {
  const group = withExamples(
    program.command("bench").description("load the cluster from the CLI (pipelined on Session streams)"),
    ["ctl bench put --concurrency 64 --duration 10s", "ctl bench get --concurrency 16 --duration 5s --json"],
  );
  for (const op of ["put", "get"] as const) {
    const cmd = group.command(op).description(op === "put" ? "puts of --value-size bytes over --keys keys" : "linearizable gets of --keys prefilled keys")
      .option("--concurrency <n>", "requests in flight", parsePositiveInt, 16)
      .option("--duration <time>", "how long to run: seconds, or with s/ms", parseDurationMs, 10_000)
      .option("--value-size <bytes>", "bytes per value", parsePositiveInt, 100)
      .option("--keys <n>", "distinct keys", parsePositiveInt, 1000)
      .option("--prefix <prefix>", "key prefix", "bench/");
    if (op === "get") cmd.option("--serializable", "serializable (local, possibly stale) reads");
    cmd.action(action<BenchOptions>(io, (ctx, _args, o) => bench(ctx, op, o)));
  }
}

async function bench(ctx: Context, op: "put" | "get", o: BenchOptions): Promise<void> {
  const client = ctx.client("session");
  const value = new Uint8Array(o.valueSize).map((_, i) => 97 + (i % 26));
  const keyOf = (i: number) => `${o.prefix}${i % o.keys}`;
  if (op === "get") await prefill(client, o, keyOf, value);
  const recorder = new LatencyRecorder();
  let errors = 0;
  let lastError: string | undefined;
  const startedMs = performance.now();
  const endMs = startedMs + o.duration;
  const stop = ctx.io.interrupt;
  let counter = 0;
  const worker = async () => {
    while (performance.now() < endMs && !stop.aborted) {
      const key = keyOf(counter++);
      const t0 = performance.now();
      try {
        if (op === "put") await client.put(key, value);
        else await client.get(key, { consistency: o.serializable ? "serializable" : "linearizable" });
        recorder.record(performance.now() - t0);
      } catch (err) {
        errors++;
        lastError = err instanceof Error ? err.message : String(err);
      }
    }
  };
  const progress = startProgress(ctx, op, recorder, () => errors, startedMs);
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  progress.stop();
  const elapsedSec = (performance.now() - startedMs) / 1000;
  const s = recorder.summary();
  const view: BenchView = {
    op, concurrency: o.concurrency, durationSec: round(elapsedSec), valueBytes: o.valueSize, keys: o.keys,
    ops: s.count, errors, opsPerSec: Math.round(s.count / elapsedSec),
    latencyMs: { mean: round(s.meanMs), p50: round(s.p50Ms), p99: round(s.p99Ms), p999: round(s.p999Ms), max: round(s.maxMs) },
    ...(lastError === undefined ? {} : { lastError }),
  };
  ctx.emit(view, (v) => summaryText(ctx, v));
  if (s.count === 0 && errors > 0) throw new Error(`every request failed; last error: ${lastError}`);
}

async function prefill(client: OmnimetaClient, o: BenchOptions, keyOf: (i: number) => string, value: Uint8Array): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < o.keys) await client.put(keyOf(next++), value);
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.keys) }, worker));
}

/** Rewrites one stderr line every second while stderr is a terminal. */
function startProgress(ctx: Context, op: string, recorder: LatencyRecorder, errors: () => number, startedMs: number) {
  const tty = ctx.io.stderr.isTTY === true;
  if (!tty) return { stop: () => undefined };
  const timer = setInterval(() => {
    const sec = (performance.now() - startedMs) / 1000;
    const count = recorder.count();
    ctx.io.stderr.write(`\r\x1b[2K${op}: ${count} ops, ${Math.round(count / sec)} ops/s, ${errors()} errors, ${sec.toFixed(0)} s`);
  }, 1000);
  return { stop: () => (clearInterval(timer), ctx.io.stderr.write("\r\x1b[2K")) };
}

function summaryText(ctx: Context, v: BenchView): string {
  const c = ctx.chalk;
  return renderFields([
    ["op", `${v.op} (concurrency ${v.concurrency}, ${v.valueBytes} B values, ${v.keys} keys)`],
    ["ops", `${v.ops} in ${v.durationSec} s${v.errors > 0 ? c.red(`, ${v.errors} errors`) : ""}`],
    ["throughput", c.bold(`${v.opsPerSec} ops/s`)],
    ["latency", `p50 ${v.latencyMs.p50} ms  p99 ${v.latencyMs.p99} ms  p999 ${v.latencyMs.p999} ms  max ${v.latencyMs.max} ms`],
    ...(v.lastError ? [["last error", v.lastError] as [string, string]] : []),
  ], c);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

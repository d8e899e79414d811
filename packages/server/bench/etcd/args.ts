// Command-line options of bench:etcd. `--quick` is a smoke run (1 round, 2 s cases); explicit flags
// given with it win.
import { parseArgs } from "node:util";
import type { SystemName } from "./kv-target.ts";

export interface BenchOptions {
  rounds: number;
  durationMs: number;
  valueBytes: number;
  keyCount: number;
  getKeyCount: number;
  /** Case names to run (all when empty). */
  only: string[];
  /** Systems in the order each round runs them. */
  systems: SystemName[];
  /** Keep the run dir (data dirs and node logs) instead of removing it on exit. */
  keep: boolean;
}

export const USAGE = `usage: npm run bench:etcd -- [--rounds N] [--duration 10s] [--value-size 256] [--keys 10000]
                          [--quick] [--only seq-put,put-c256,...] [--systems etcd,omnimeta] [--keep]`;

/** "10s", "500ms", "1m" or a bare number of seconds, in ms. */
export function parseDurationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text} (e.g. 10s, 500ms, 1m)`);
  const n = Number(m[1]);
  return Math.round(m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000);
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} wants a positive integer, got ${text}`);
  return n;
}

export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      rounds: { type: "string" },
      duration: { type: "string" },
      "value-size": { type: "string" },
      keys: { type: "string" },
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      systems: { type: "string" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) throw new Error(USAGE);
  const systems = (values.systems ?? "etcd,omnimeta").split(",").map((s) => s.trim());
  for (const s of systems) if (s !== "etcd" && s !== "omnimeta") throw new Error(`--systems: unknown system ${s}`);
  const keyCount = positiveInt("keys", values.keys ?? "10000");
  return {
    rounds: positiveInt("rounds", values.rounds ?? (values.quick ? "1" : "2")),
    durationMs: parseDurationMs(values.duration ?? (values.quick ? "2s" : "10s")),
    valueBytes: positiveInt("value-size", values["value-size"] ?? "256"),
    keyCount,
    getKeyCount: Math.min(1000, keyCount),
    only: values.only === undefined ? [] : values.only.split(",").map((s) => s.trim()),
    systems: systems as SystemName[],
    keep: values.keep,
  };
}

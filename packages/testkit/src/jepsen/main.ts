// `npm run jepsen -- --time 60 --nemesis kill,pause,partition,member [--nodes 3] [--seed S]`:
// one fault run, then ONE JSON verdict line on stdout (progress on stderr). Exit 0 valid, 1 not
// valid (or unproven), 2 usage. `--check FILE` re-checks a kept history instead (and, when the run
// kept reads.jsonl and watches.json beside it, the List, serializable and watch checks too).
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { checkEvents } from "../linearizability/check.ts";
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { readHistoryFile, type HistoryEvent } from "../linearizability/history.ts";
import type { SnapshotRead, WatchStream } from "../linearizability/observations.ts";
import { judgeWider, type WiderVerdict } from "./wider-checks.ts";
import { NEMESIS_KINDS, type NemesisKind } from "../nemesis/nemesis.ts";
import { defaultRunOptions, runJepsen, type RunOptions } from "./run.ts";

const usage = `usage: npm run jepsen -- [--time S] [--nemesis kill,pause,partition,member|none] [--nodes N] [--clients N]
                       [--keys N] [--seed S] [--unsafe FLAGS] [--transport unary|session|mixed] [--out DIR] [--quiet]
                       [--interval-ms MS] [--hold-ms MS] [--kill-all-percent P] [--compaction-slots N]
       npm run jepsen -- --check HISTORY.jsonl`;

class UsageError extends Error {}

function int(v: string | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag}: expected a non-negative integer, got "${v}"`);
  return n;
}

function nemesisKinds(v: string | undefined): NemesisKind[] {
  if (v === undefined) return [...defaultRunOptions.nemesis];
  if (v === "none" || v === "") return [];
  return v.split(",").map((k) => {
    if (!(NEMESIS_KINDS as readonly string[]).includes(k)) throw new UsageError(`--nemesis: unknown kind "${k}" (known: ${NEMESIS_KINDS.join(", ")}, none)`);
    return k as NemesisKind;
  });
}

export function parseRunArgs(argv: string[]): RunOptions | { check: string } {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      options: {
        time: { type: "string" }, nemesis: { type: "string" }, nodes: { type: "string" }, clients: { type: "string" },
        keys: { type: "string" }, seed: { type: "string" }, unsafe: { type: "string" }, out: { type: "string" },
        check: { type: "string" }, transport: { type: "string" }, "interval-ms": { type: "string" }, "hold-ms": { type: "string" },
        "kill-all-percent": { type: "string" }, "compaction-slots": { type: "string" }, quiet: { type: "boolean" }, help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (v.help) throw new UsageError("");
  if (v.check !== undefined) return { check: v.check };
  const seed = int(v.seed, "--seed", Date.now() % 1_000_000);
  const nodes = int(v.nodes, "--nodes", defaultRunOptions.nodes);
  const transport = v.transport ?? defaultRunOptions.transport;
  if (transport !== "unary" && transport !== "session" && transport !== "mixed") throw new UsageError(`--transport: expected unary, session or mixed, got "${transport}"`);
  if (nodes < 1) throw new UsageError("--nodes: at least 1");
  return {
    ...defaultRunOptions,
    timeS: int(v.time, "--time", defaultRunOptions.timeS),
    nemesis: nemesisKinds(v.nemesis),
    nodes,
    clients: int(v.clients, "--clients", defaultRunOptions.clients),
    keys: Math.max(1, int(v.keys, "--keys", defaultRunOptions.keys)),
    seed,
    unsafe: v.unsafe ?? "",
    transport,
    nemesisIntervalMs: int(v["interval-ms"], "--interval-ms", defaultRunOptions.nemesisIntervalMs),
    nemesisHoldMs: int(v["hold-ms"], "--hold-ms", defaultRunOptions.nemesisHoldMs),
    compactionSlots: int(v["compaction-slots"], "--compaction-slots", 0),
    killAllRate: int(v["kill-all-percent"], "--kill-all-percent", defaultRunOptions.killAllRate * 100) / 100,
    outDir: resolve(v.out ?? join("histories", `run-${new Date().toISOString().replace(/[:.]/g, "-")}-s${seed}`)),
    log: v.quiet ? () => {} : (line) => process.stderr.write(`${line}\n`),
  };
}

/** The wider checks again, when the run kept reads.jsonl and watches.json beside the history. */
function recheckWider(historyPath: string, events: readonly HistoryEvent[]): WiderVerdict | undefined {
  const dir = dirname(historyPath);
  if (!existsSync(join(dir, "reads.jsonl")) || !existsSync(join(dir, "watches.json"))) return undefined;
  const reads = readFileSync(join(dir, "reads.jsonl"), "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as SnapshotRead);
  const streams = JSON.parse(readFileSync(join(dir, "watches.json"), "utf8")) as WatchStream[];
  const keys = [...new Set(events.flatMap((e) => (e.type === "invoke" ? [e.input.key] : [])))].sort();
  return judgeWider(events, reads, streams, keys);
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseRunArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${e.message ? `jepsen: ${e.message}\n` : ""}${usage}\n`);
    return 2;
  }
  if ("check" in parsed) {
    const events = readHistoryFile(parsed.check);
    const result = checkEvents(events);
    const wider = recheckWider(parsed.check, events);
    const valid = wider !== undefined && wider.anomalies > 0 ? false : result.valid;
    process.stdout.write(JSON.stringify({ valid, keys: result.keys, anomalies: result.anomalies.map((a) => ({ key: a.key, explanation: a.explanation })), ...(wider ? { wider } : {}) }) + "\n");
    return valid === true ? 0 : 1;
  }
  const verdict = await runJepsen(parsed);
  for (const a of verdict.anomalies) process.stderr.write(`${a.explanation.join("\n")}\ntimeline: ${a.timeline}\n`);
  if (verdict.valid !== true) process.stderr.write(`replay: npm run jepsen -- --time ${verdict.timeS} --nemesis ${verdict.nemesis.join(",") || "none"} --nodes ${verdict.nodes} --seed ${verdict.seed}${verdict.unsafe ? ` --unsafe ${verdict.unsafe}` : ""}\n`);
  const { faultLog: _faultLog, keys: _keys, ...line } = verdict;
  process.stdout.write(JSON.stringify(line) + "\n");
  return verdict.valid === true && verdict.finalReadsUnanswered === 0 && verdict.harnessError === undefined ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`jepsen: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);

// Command-line options of bench:join. `--quick` is a smoke run (20,000 keys, 3 s windows); explicit
// flags given with it win.
import { resolve } from "node:path";
import { parseArgs } from "node:util";

export interface JoinBenchOptions {
  keyCount: number;
  valueBytes: number;
  writerCount: number;
  /** Length of the window that measures the writers before the join. */
  beforeMs: number;
  /** Give up waiting for the joiner after this long (it is then reported as timed out). */
  joinTimeoutMs: number;
  compactionSlots: number | undefined;
  keep: boolean;
  /** --snapshot-send-rate of every node (bytes/s), or undefined for metad's default. */
  snapshotSendRate: number | undefined;
  /** Where every node writes a V8 CPU profile (--cpu-prof-dir), or undefined. */
  cpuProfDir: string | undefined;
}

export const USAGE = `usage: npm run bench:join -- [--keys 200000] [--value-bytes 1024] [--writers 4] [--quick]
                         [--compaction-slots N] [--join-timeout-s 300] [--keep]
                         [--snapshot-send-rate BYTES_PER_S] [--cpu-prof-dir DIR]`;

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} wants a positive integer, got ${text}`);
  return n;
}

export function parseJoinArgs(argv: string[]): JoinBenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      keys: { type: "string" },
      "value-bytes": { type: "string" },
      writers: { type: "string" },
      "compaction-slots": { type: "string" },
      "join-timeout-s": { type: "string" },
      quick: { type: "boolean" },
      keep: { type: "boolean" },
      "cpu-prof-dir": { type: "string" },
      "snapshot-send-rate": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) throw new Error(USAGE);
  const quick = values.quick === true;
  const int = (name: string, fallback: number) => (values[name as keyof typeof values] !== undefined ? positiveInt(name, String(values[name as keyof typeof values])) : fallback);
  return {
    keyCount: int("keys", quick ? 20_000 : 200_000),
    valueBytes: int("value-bytes", 1024),
    writerCount: int("writers", 4),
    beforeMs: quick ? 3000 : 10_000,
    joinTimeoutMs: int("join-timeout-s", 300) * 1000,
    compactionSlots: values["compaction-slots"] !== undefined ? positiveInt("compaction-slots", values["compaction-slots"]) : undefined,
    keep: values.keep === true,
    snapshotSendRate: values["snapshot-send-rate"] !== undefined ? positiveInt("snapshot-send-rate", values["snapshot-send-rate"]) : undefined,
    cpuProfDir: values["cpu-prof-dir"] !== undefined ? resolve(values["cpu-prof-dir"]) : undefined,
  };
}

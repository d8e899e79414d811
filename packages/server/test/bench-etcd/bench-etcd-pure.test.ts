// The pure parts of bench:etcd (packages/server/bench/etcd): percentiles, medians and gaps, the
// /proc parsing its CPU and RSS figures come from, duration flags, and the omnimeta/etcd ratio line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { longestGap, median, percentile } from "../../bench/etcd/stats.ts";
import { parseCpuTicks, parseRssMb } from "../../bench/etcd/proc-stats.ts";
import { parseBenchArgs, parseDurationMs } from "../../bench/etcd/args.ts";
import { summarize, type ResultLine } from "../../bench/etcd/ratios.ts";

test("percentiles are nearest-rank over the sorted sample", () => {
  const sorted = Array.from({ length: 1000 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 500);
  assert.equal(percentile(sorted, 99), 990);
  assert.equal(percentile(sorted, 99.9), 999);
  assert.equal(percentile(sorted, 100), 1000);
  assert.equal(percentile([7], 99.9), 7);
  assert.equal(percentile([], 50), 0);
});

test("the median of an even count is the mean of the middle two, and the gap is the widest step", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(longestGap([0, 1, 5, 6, 6.5]), 4);
  assert.equal(longestGap([3]), 0);
});

test("utime + stime are read after the last ')' so a command name with spaces and parens cannot shift them", () => {
  // Fields 14 and 15 (utime, stime) are 1234 and 56.
  const line = "4242 (node (metad) x) S 1 4242 4242 0 -1 4194304 9000 0 0 0 1234 56 0 0 20 0 11 0 100 900000000 20000 18446744073709551615";
  assert.deepEqual(parseCpuTicks(line), { user: 1234, system: 56 });
  assert.throws(() => parseCpuTicks("garbage"), /not a \/proc\/PID\/stat line/);
});

test("VmRSS is parsed from /proc/PID/status in MB, and 0 when absent", () => {
  assert.equal(parseRssMb("Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t   51200 kB\nVmData:\t 1 kB\n"), 50);
  assert.equal(parseRssMb("Name:\tzombie\nState:\tZ (zombie)\n"), 0);
});

test("durations take ms, s, m or bare seconds, and --quick shortens the run unless told otherwise", () => {
  assert.equal(parseDurationMs("10s"), 10_000);
  assert.equal(parseDurationMs("250ms"), 250);
  assert.equal(parseDurationMs("1.5m"), 90_000);
  assert.equal(parseDurationMs("3"), 3000);
  assert.throws(() => parseDurationMs("ten"), /not a duration/);
  assert.deepEqual([parseBenchArgs([]).rounds, parseBenchArgs([]).durationMs], [2, 10_000]);
  assert.deepEqual([parseBenchArgs(["--quick"]).rounds, parseBenchArgs(["--quick"]).durationMs], [1, 2000]);
  assert.equal(parseBenchArgs(["--quick", "--rounds", "3"]).rounds, 3);
});

test("the summary divides omnimeta's median over rounds by etcd's", () => {
  const line = (round: number, system: "etcd" | "omnimeta", c: string, opsPerSec: number, p50: number, extra: Record<string, unknown> = {}): ResultLine =>
    ({ round, system, case: c, opsPerSec, latencyMs: { p50 }, serverCpuMsPerOp: 0.2, idleRssMb: [20, 30, 25], leaderChanges: 0, errors: 0, ...extra });
  const lines = [
    line(1, "etcd", "put-c256", 1000, 10), line(1, "omnimeta", "put-c256", 1500, 8, { leaderChanges: 1 }),
    line(2, "etcd", "put-c256", 3000, 10), line(2, "omnimeta", "put-c256", 4500, 8),
    line(1, "etcd", "leader-kill", 100, 5, { writeGapMs: 1200 }), line(1, "omnimeta", "leader-kill", 100, 5, { writeGapMs: 600, leaderChanges: 9 }),
  ];
  const s = summarize(lines);
  assert.equal(s.putC256OpsRatio, 1.5);
  assert.deepEqual(s.putC256Ops, { omnimeta: 3000, etcd: 2000 });
  assert.equal(s.leaderKillGapRatio, 0.5);
  assert.deepEqual(s.idleRssMb, { omnimeta: 30, etcd: 30 });
  assert.deepEqual(s.leaderChanges, { omnimeta: 1, etcd: 0 }, "the leader-kill case does not count");
  assert.equal(s.getC64OpsRatio, null, "a case that did not run has no ratio");
});

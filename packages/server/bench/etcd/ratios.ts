// The summary line of bench:etcd: for each headline metric, the median over rounds for each system,
// and the ratio omnimeta / etcd of those medians. Ratios above 1 favour omnimeta for throughput and
// favour etcd for latency, CPU, RSS and the write gap (see README, "bench:etcd").
import type { SystemName } from "./kv-target.ts";
import { median, round } from "./stats.ts";

export type ResultLine = Record<string, unknown> & { round: number; system: SystemName; case: string };

type Pick = (line: ResultLine) => number | null | undefined;

const opsPerSec: Pick = (l) => l.opsPerSec as number;
const p50: Pick = (l) => (l.latencyMs as { p50: number }).p50;
const cpuPerOp: Pick = (l) => l.serverCpuMsPerOp as number | null;
const maxIdleRss: Pick = (l) => Math.max(...(l.idleRssMb as number[]));
const writeGap: Pick = (l) => l.writeGapMs as number;

/** The lines of one case, or with caseName "*" the first line of each round (for per-round fields). */
function linesOf(lines: ResultLine[], system: SystemName, caseName: string): ResultLine[] {
  const mine = lines.filter((l) => l.system === system);
  if (caseName !== "*") return mine.filter((l) => l.case === caseName);
  return mine.filter((l, i) => mine.findIndex((m) => m.round === l.round) === i);
}

function medianOf(lines: ResultLine[], system: SystemName, caseName: string, pick: Pick): number | null {
  const values = linesOf(lines, system, caseName).map(pick).filter((v): v is number => typeof v === "number");
  return values.length === 0 ? null : round(median(values), 3);
}

function both(lines: ResultLine[], caseName: string, pick: Pick) {
  const omnimeta = medianOf(lines, "omnimeta", caseName, pick);
  const etcd = medianOf(lines, "etcd", caseName, pick);
  const ratio = omnimeta === null || etcd === null || etcd === 0 ? null : round(omnimeta / etcd, 3);
  return { omnimeta, etcd, ratio };
}

function sumOver(lines: ResultLine[], system: SystemName, field: string): number {
  return lines.filter((l) => l.system === system && l.case !== "leader-kill").reduce((s, l) => s + ((l[field] as number | undefined) ?? 0), 0);
}

export function summarize(lines: ResultLine[]): Record<string, unknown> {
  const seqP50 = both(lines, "seq-put", p50);
  const putC256 = both(lines, "put-c256", opsPerSec);
  const getC64 = both(lines, "get-c64", opsPerSec);
  const cpuPut = both(lines, "put-c256", cpuPerOp);
  const cpuGet = both(lines, "get-c64", cpuPerOp);
  const idle = both(lines, "*", maxIdleRss);
  const gap = both(lines, "leader-kill", writeGap);
  return {
    summary: "omnimeta/etcd",
    rounds: new Set(lines.map((l) => l.round)).size,
    seqPutP50Ratio: seqP50.ratio,
    seqPutOpsRatio: both(lines, "seq-put", opsPerSec).ratio,
    putC16OpsRatio: both(lines, "put-c16", opsPerSec).ratio,
    putC64OpsRatio: both(lines, "put-c64", opsPerSec).ratio,
    putC256OpsRatio: putC256.ratio,
    getC16OpsRatio: both(lines, "get-c16", opsPerSec).ratio,
    getC64OpsRatio: getC64.ratio,
    cpuPerPutC256Ratio: cpuPut.ratio,
    cpuPerGetC64Ratio: cpuGet.ratio,
    idleRssRatio: idle.ratio,
    leaderKillGapRatio: gap.ratio,
    seqPutP50Ms: { omnimeta: seqP50.omnimeta, etcd: seqP50.etcd },
    putC256Ops: { omnimeta: putC256.omnimeta, etcd: putC256.etcd },
    getC64Ops: { omnimeta: getC64.omnimeta, etcd: getC64.etcd },
    cpuPerPutC256Ms: { omnimeta: cpuPut.omnimeta, etcd: cpuPut.etcd },
    cpuPerGetC64Ms: { omnimeta: cpuGet.omnimeta, etcd: cpuGet.etcd },
    idleRssMb: { omnimeta: idle.omnimeta, etcd: idle.etcd },
    leaderKillGapMs: { omnimeta: gap.omnimeta, etcd: gap.etcd },
    leaderChanges: { omnimeta: sumOver(lines, "omnimeta", "leaderChanges"), etcd: sumOver(lines, "etcd", "leaderChanges") },
    errors: { omnimeta: sumOver(lines, "omnimeta", "errors"), etcd: sumOver(lines, "etcd", "errors") },
  };
}

// Server-side resource use read from Linux /proc: CPU time (utime + stime of /proc/PID/stat, all
// threads of the process) and resident memory (VmRSS of /proc/PID/status). Parsing is pure.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** utime and stime in clock ticks from one /proc/PID/stat line. The comm field may hold spaces and ')'. */
export function parseCpuTicks(statLine: string): { user: number; system: number } {
  const end = statLine.lastIndexOf(")");
  if (end < 0) throw new Error(`not a /proc/PID/stat line: ${statLine.slice(0, 80)}`);
  // After "pid (comm) " come: state(3) ppid(4) … utime(14) stime(15); index 0 here is field 3.
  const fields = statLine.slice(end + 2).trim().split(/\s+/);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`bad utime/stime in: ${statLine.slice(0, 120)}`);
  return { user: utime, system: stime };
}

/** VmRSS in MB from /proc/PID/status text; 0 when the field is absent (a zombie). */
export function parseRssMb(statusText: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  return m ? Number(m[1]) / 1024 : 0;
}

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (getconf CLK_TCK; 100 on every common Linux). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU milliseconds used so far by the process, user and system; undefined if it is gone. */
export function cpuMsOf(pid: number): { user: number; system: number } | undefined {
  try {
    const ticks = parseCpuTicks(readFileSync(`/proc/${pid}/stat`, "utf8"));
    const msPerTick = 1000 / clockTicksPerSecond();
    return { user: ticks.user * msPerTick, system: ticks.system * msPerTick };
  } catch {
    return undefined;
  }
}

/** Resident set size in MB, 0 if the process is gone. */
export function rssMbOf(pid: number): number {
  try {
    return parseRssMb(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return 0;
  }
}

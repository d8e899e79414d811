// Server-side resource use read from Linux /proc: CPU time (utime + stime of /proc/PID/stat, all
// threads of the process) and resident memory (VmRSS of /proc/PID/status). Parsing is pure.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** utime + stime in clock ticks from one /proc/PID/stat line. The comm field may hold spaces and ')'. */
export function parseCpuTicks(statLine: string): number {
  const end = statLine.lastIndexOf(")");
  if (end < 0) throw new Error(`not a /proc/PID/stat line: ${statLine.slice(0, 80)}`);
  // After "pid (comm) " come: state(3) ppid(4) … utime(14) stime(15); index 0 here is field 3.
  const fields = statLine.slice(end + 2).trim().split(/\s+/);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`bad utime/stime in: ${statLine.slice(0, 120)}`);
  return utime + stime;
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

/** CPU milliseconds (user + system) used so far by the process, 0 if it is gone. */
export function cpuMsOf(pid: number): number {
  try {
    return (parseCpuTicks(readFileSync(`/proc/${pid}/stat`, "utf8")) * 1000) / clockTicksPerSecond();
  } catch {
    return 0;
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

// Resident memory of a process from Linux /proc/PID/status: VmRSS (now) and VmHWM (the peak since it
// started), in MB, and a sampler that polls VmRSS to find the peak inside one window of time.
import { readFileSync } from "node:fs";

/** A `Vm…:   N kB` field of /proc/PID/status text, in MB; undefined when absent. */
export function vmFieldMb(statusText: string, field: "VmRSS" | "VmHWM"): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(statusText);
  return m ? Number(m[1]) / 1024 : undefined;
}

/** VmRSS and VmHWM of a live process, or undefined if it is gone. */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const rssMb = vmFieldMb(text, "VmRSS");
    const hwmMb = vmFieldMb(text, "VmHWM");
    return rssMb === undefined || hwmMb === undefined ? undefined : { rssMb, hwmMb };
  } catch {
    return undefined;
  }
}

/** Polls VmRSS of some processes every `intervalMs` and keeps the first and the largest sample of each. */
export class RssSampler {
  private readonly first = new Map<number, number>();
  private readonly peak = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: number[], intervalMs = 50) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    for (const pid of this.pids) {
      const m = memoryOf(pid);
      if (m === undefined) continue;
      if (!this.first.has(pid)) this.first.set(pid, m.rssMb);
      this.peak.set(pid, Math.max(this.peak.get(pid) ?? 0, m.rssMb));
    }
  }

  /** Stops polling (after one last sample); returns first and peak RSS per pid, in MB. */
  stop(): Map<number, { firstMb: number; peakMb: number }> {
    this.sample();
    clearInterval(this.timer);
    const out = new Map<number, { firstMb: number; peakMb: number }>();
    for (const pid of this.pids) out.set(pid, { firstMb: this.first.get(pid) ?? 0, peakMb: this.peak.get(pid) ?? 0 });
    return out;
  }
}

/** What the receiver's memory is made of at its peak, from its own /metrics (prom-client's process metrics). */
export interface HeapPeaks {
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
}

/** Scrapes a node's /metrics every `intervalMs` and keeps the largest V8 heap (used, total) and external memory. */
export class HeapSampler {
  private readonly peaks: HeapPeaks = { heapUsedMb: 0, heapTotalMb: 0, externalMb: 0 };
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(scrape: () => Promise<string>, metricValue: (text: string, name: string) => number | undefined, intervalMs = 250) {
    this.loop = (async () => {
      while (!this.stopped) {
        const text = await scrape().catch(() => undefined);
        if (text !== undefined) {
          const mb = (name: string) => (metricValue(text, name) ?? 0) / 2 ** 20;
          this.peaks.heapUsedMb = Math.max(this.peaks.heapUsedMb, mb("nodejs_heap_size_used_bytes"));
          this.peaks.heapTotalMb = Math.max(this.peaks.heapTotalMb, mb("nodejs_heap_size_total_bytes"));
          this.peaks.externalMb = Math.max(this.peaks.externalMb, mb("nodejs_external_memory_bytes"));
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
  }

  async stop(): Promise<HeapPeaks> {
    this.stopped = true;
    await this.loop;
    return { ...this.peaks };
  }
}

/** CPU seconds (user + system) a live process has used, from /proc/PID/stat; undefined if it is gone. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

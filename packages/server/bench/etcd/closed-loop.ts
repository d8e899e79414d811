// The load generator: `concurrency` workers, each issuing its next operation as soon as the previous
// one is answered (closed loop), until the duration is over. It records each success's latency and
// the time it was acknowledged, and the failures by message. The same code drives both systems.
import { performance } from "node:perf_hooks";

export interface LoadResult {
  wallMs: number;
  /** Latency of each acknowledged operation, ms, ascending. */
  latenciesMs: number[];
  /** When each operation was acknowledged, ms since the start, ascending. */
  ackAtMs: number[];
  errors: number;
  errorKinds: Record<string, number>;
  /** CPU of this process over the load, percent of one core. */
  loadgenCpuPct: number;
}

/** `op(worker, seq)` performs one operation (retries included) and resolves when it is acknowledged. */
export type Operation = (worker: number, seq: number) => Promise<void>;

export async function closedLoop(concurrency: number, durationMs: number, op: Operation, onStart?: (t0: number) => void): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const ackAtMs: number[] = [];
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + durationMs;
  onStart?.(t0);
  const worker = async (w: number) => {
    for (let seq = 0; performance.now() < end; seq++) {
      const start = performance.now();
      try {
        await op(w, seq);
        const now = performance.now();
        latenciesMs.push(now - start);
        ackAtMs.push(now - t0);
      } catch (e) {
        errors++;
        const kind = (e instanceof Error ? e.message : String(e)).slice(0, 100);
        errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  latenciesMs.sort((a, b) => a - b);
  return { wallMs, latenciesMs, ackAtMs, errors, errorKinds, loadgenCpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100 };
}

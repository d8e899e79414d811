// The process's own metrics, one set per process however many nodes it runs: prom-client's default
// metrics (process_cpu_seconds_total, process_resident_memory_bytes, nodejs_heap_*, nodejs_gc_*, ...) and
// omnimeta's event-loop delay from perf_hooks.monitorEventLoopDelay (max and p99 since the previous scrape).

import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";

/** The event loop is sampled every this many milliseconds (the timer is unref'd: it keeps nothing alive). */
const eventLoopResolutionMs = 10;

export interface EventLoopDelay {
  maxSeconds: number;
  p99Seconds: number;
  meanSeconds: number;
}

let registry: Registry | undefined;
let histogram: IntervalHistogram | undefined;
/** Largest delay seen by any read since the process started (each scrape's window is reset). */
let maxSinceStartSeconds = 0;

function delayHistogram(): IntervalHistogram {
  if (histogram === undefined) {
    histogram = monitorEventLoopDelay({ resolution: eventLoopResolutionMs });
    histogram.enable();
  }
  return histogram;
}

/**
 * The event-loop delay since the previous reset (each /metrics scrape resets it): how late a timer fired,
 * so a turn that blocked the loop for 40 ms shows as max >= 0.04.
 */
export function readEventLoopDelay(reset = false): EventLoopDelay {
  const h = delayHistogram();
  const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
  const out = h.count === 0 ? { maxSeconds: 0, p99Seconds: 0, meanSeconds: 0 } : { maxSeconds: seconds(h.max), p99Seconds: seconds(h.percentile(99)), meanSeconds: seconds(h.mean) };
  maxSinceStartSeconds = Math.max(maxSinceStartSeconds, out.maxSeconds);
  if (reset) h.reset();
  return out;
}

/** The process-wide registry (made on first use). */
export function processRegistry(): Registry {
  if (registry !== undefined) return registry;
  const r = new Registry();
  collectDefaultMetrics({ register: r });
  let last: EventLoopDelay | undefined;
  // Both gauges are read in one scrape: the first collect reads and resets, the second uses that reading.
  new Gauge({
    name: "omnimeta_event_loop_delay_max_seconds",
    help: "Largest event-loop delay since the previous scrape (perf_hooks.monitorEventLoopDelay)",
    registers: [r],
    collect(this: Gauge) {
      last = readEventLoopDelay(true);
      this.set(last.maxSeconds);
    },
  });
  new Gauge({
    name: "omnimeta_event_loop_delay_max_since_start_seconds",
    help: "Largest event-loop delay since the process started (the longest stall; perf_hooks.monitorEventLoopDelay)",
    registers: [r],
    collect(this: Gauge) {
      this.set(Math.max(maxSinceStartSeconds, (last ?? readEventLoopDelay(false)).maxSeconds));
    },
  });
  new Gauge({
    name: "omnimeta_event_loop_delay_p99_seconds",
    help: "99th percentile of the event-loop delay since the previous scrape (perf_hooks.monitorEventLoopDelay)",
    registers: [r],
    collect(this: Gauge) {
      this.set((last ?? readEventLoopDelay(false)).p99Seconds);
    },
  });
  registry = r;
  return r;
}

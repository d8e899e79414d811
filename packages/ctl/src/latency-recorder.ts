// Latency samples of a load run and their percentiles. Bounded: past `samplesMax` it keeps a
// uniform reservoir (Algorithm R), so a long run cannot grow memory without limit.

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class LatencyRecorder {
  private readonly samples: Float64Array;
  private seenCount = 0;
  private sumMs = 0;
  private maxMs = 0;

  constructor(private readonly samplesMax = 1_000_000, private readonly random: () => number = Math.random) {
    this.samples = new Float64Array(samplesMax);
  }

  record(ms: number): void {
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
    if (this.seenCount < this.samplesMax) {
      this.samples[this.seenCount] = ms;
    } else {
      const slot = Math.floor(this.random() * (this.seenCount + 1));
      if (slot < this.samplesMax) this.samples[slot] = ms;
    }
    this.seenCount++;
  }

  count(): number {
    return this.seenCount;
  }

  summary(): LatencySummary {
    const kept = this.samples.slice(0, Math.min(this.seenCount, this.samplesMax)).sort();
    const at = (q: number) => (kept.length === 0 ? 0 : kept[Math.min(kept.length - 1, Math.ceil(q * kept.length) - 1)]);
    return {
      count: this.seenCount,
      meanMs: this.seenCount === 0 ? 0 : this.sumMs / this.seenCount,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      p999Ms: at(0.999),
      maxMs: this.maxMs,
    };
  }
}

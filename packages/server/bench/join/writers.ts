// A few closed-loop writers (one put in flight each, unary, small values) that count their successful
// puts in time buckets, so throughput can be compared between two windows and the longest gap between
// two successful puts is known.
import type { Client } from "@connectrpc/connect";
import type { MetadataService } from "@omnimeta/proto";

export class Writers {
  /** Completion times (ms, performance.now()) of every successful put. */
  private readonly okAt: number[] = [];
  errors = 0;
  private stopped = false;
  private readonly loops: Promise<void>[];

  constructor(clients: () => Client<typeof MetadataService>, count: number, valueBytes = 128) {
    const value = new Uint8Array(valueBytes).fill(0x77);
    this.loops = Array.from({ length: count }, (_, w) => this.loop(clients, w, value));
  }

  private async loop(clients: () => Client<typeof MetadataService>, w: number, value: Uint8Array): Promise<void> {
    for (let seq = 0; !this.stopped; seq++) {
      try {
        await clients().put({ key: `writer/${w}/${seq % 1000}`, value, requestId: `w${w}-${seq}` }, { timeoutMs: 5000 });
        this.okAt.push(performance.now());
      } catch {
        this.errors++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Successful puts per second in [fromMs, toMs). */
  opsPerSecond(fromMs: number, toMs: number): number {
    const n = this.okAt.filter((t) => t >= fromMs && t < toMs).length;
    return n / ((toMs - fromMs) / 1000);
  }

  /** The longest time (ms) in [fromMs, toMs] without any successful put. */
  longestGapMs(fromMs: number, toMs: number): number {
    let last = fromMs;
    let gap = 0;
    for (const t of this.okAt) {
      if (t < fromMs) continue;
      if (t > toMs) break;
      gap = Math.max(gap, t - last);
      last = t;
    }
    return Math.max(gap, toMs - last);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

// Fills a cluster fast: `keyCount` puts pipelined on a few Session streams to one node (the leader),
// each stream with a bounded window of requests in flight; failed puts are retried. Keys are `prefix` + a zero-padded number,
// so the last key is known and sorts last.
import type { Client } from "@connectrpc/connect";
import type { MetadataService } from "@omnimeta/proto";
import { SessionClient } from "../session-client.ts";

export interface PreloadOptions {
  keyCount: number;
  valueBytes: number;
  prefix: string;
  streams?: number;
  windowPerStream?: number;
  /** Called now and then with the number of keys written so far. */
  onProgress?: (done: number) => void;
  retriesMax?: number;
}

export function keyName(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(9, "0")}`;
}

/**
 * Writes keys 0..keyCount-1; resolves with the elapsed seconds. A failed put (e.g. the leader changed
 * under load) is retried after a short pause, on a new stream to whatever `metadata()` then returns if the
 * stream broke; its request id makes the retry apply at most once. Gives up after `retriesMax` failures.
 */
export async function preload(metadata: () => Client<typeof MetadataService>, o: PreloadOptions): Promise<number> {
  const started = performance.now();
  const value = new Uint8Array(o.valueBytes).fill(0x61);
  const streams = o.streams ?? 4;
  const window = o.windowPerStream ?? 128;
  const retriesMax = o.retriesMax ?? 1_000_000;
  const retry: number[] = [];
  let next = 0;
  let done = 0;
  let failures = 0;
  let pauseUntil = 0;
  const take = () => (retry.length > 0 ? retry.pop() : next < o.keyCount ? next++ : undefined);
  const lane = async () => {
    let s = new SessionClient(metadata());
    const inflight = new Set<Promise<unknown>>();
    try {
      for (;;) {
        const pauseMs = pauseUntil - performance.now();
        if (pauseMs > 0 && inflight.size === 0) await new Promise((r) => setTimeout(r, pauseMs));
        if (s.broken && inflight.size === 0) {
          await new Promise((r) => setTimeout(r, 200));
          s = new SessionClient(metadata());
        }
        while (!s.broken && inflight.size < window && performance.now() >= pauseUntil) {
          const i = take();
          if (i === undefined) break;
          const p: Promise<unknown> = s.put(keyName(o.prefix, i), value, `preload-${i}`).then(
            () => {
              if (++done % 10_000 === 0) o.onProgress?.(done);
            },
            (e: Error) => {
              if (++failures > retriesMax) throw new Error(`preload: ${failures} failed puts, last: ${e.message}`);
              retry.push(i);
              pauseUntil = performance.now() + 200; // e.g. no leader yet: let the election finish
            },
          ).finally(() => inflight.delete(p));
          inflight.add(p);
        }
        if (inflight.size === 0) {
          if (retry.length === 0 && next >= o.keyCount) return;
          continue;
        }
        await Promise.race(inflight);
      }
    } finally {
      s.close();
    }
  };
  await Promise.all(Array.from({ length: streams }, lane));
  return (performance.now() - started) / 1000;
}

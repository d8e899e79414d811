// Exponential backoff with jitter: retry n waits between half and all of base·2^n, capped.
// Pure (the random source is injected) so the schedule can be tested.

import { limits } from "./limits.ts";

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** Returns a number in [0, 1). */
  random?: () => number;
}

/** The delay before retry number `retryCount` (0 for the first retry). */
export function backoffDelayMs(retryCount: number, options: BackoffOptions = {}): number {
  const baseMs = options.baseMs ?? limits.backoffBaseMs;
  const maxMs = options.maxMs ?? limits.backoffMaxMs;
  const random = options.random ?? Math.random;
  const ceilingMs = Math.min(maxMs, baseMs * 2 ** Math.min(retryCount, 30));
  // "Equal jitter": never zero (no hot loop), never above the ceiling, spread to avoid herds.
  return ceilingMs / 2 + random() * (ceilingMs / 2);
}

// The deadline of one operation: a time budget plus the caller's AbortSignal, as one signal.
// Attempts take a slice of what remains; sleeps end early when the deadline or the caller fires.

import { setTimeout as sleepMs } from "node:timers/promises";

export class Deadline {
  readonly timeoutMs: number;
  /** Fires when the time is up or the caller aborts. */
  readonly signal: AbortSignal;
  private readonly atMs: number;
  private readonly caller: AbortSignal | undefined;

  constructor(timeoutMs: number, caller?: AbortSignal) {
    this.timeoutMs = timeoutMs;
    this.atMs = performance.now() + timeoutMs;
    this.caller = caller;
    const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs)));
    this.signal = caller ? AbortSignal.any([caller, timeout]) : timeout;
  }

  remainingMs(): number {
    return Math.max(0, this.atMs - performance.now());
  }

  expired(): boolean {
    return this.remainingMs() <= 0 || this.signal.aborted;
  }

  /** True when the caller (not the clock) ended the operation. */
  callerAborted(): boolean {
    return this.caller?.aborted ?? false;
  }

  /** A signal for one attempt: fires after `attemptMs` or when the whole deadline fires. */
  attemptSignal(attemptMs: number): AbortSignal {
    return AbortSignal.any([this.signal, AbortSignal.timeout(Math.max(1, Math.ceil(attemptMs)))]);
  }

  /** Sleeps `ms` (bounded by the deadline); resolves early, without throwing, when it fires. */
  async sleep(ms: number): Promise<void> {
    const boundedMs = Math.min(ms, this.remainingMs());
    if (boundedMs <= 0) return;
    await sleepMs(boundedMs, undefined, { signal: this.signal }).catch(() => undefined);
  }
}

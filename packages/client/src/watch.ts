// Server streams that survive failures: Watch resumes from the revision after the last event
// seen; WatchLeader re-subscribes and drops the repeat of the leader it already reported.
// Both are async iterators that end only when the caller aborts (or breaks out of the loop).

import { setTimeout as sleepMs } from "node:timers/promises";
import type { WatchEvent, WatchLeaderResponse } from "@omnimeta/proto";
import { backoffDelayMs } from "./backoff.ts";
import type { Endpoints } from "./endpoints.ts";
import { DeadlineExceededError, errorFromConnect, UnavailableError, WatchCompactedError } from "./errors.ts";

export interface StreamAttempt {
  address: string;
  signal: AbortSignal;
}

/**
 * Runs `open` against the preferred endpoint and yields what it yields; on a retryable failure
 * (unavailable, connection lost) it backs off, moves on, and calls `open` again. Watch history is
 * per node, so a WatchCompactedError moves on to the next endpoint too, and is thrown once every
 * known endpoint gave it without anything delivered in between.
 */
export async function* resilientStream<T>(
  endpoints: Endpoints,
  open: (a: StreamAttempt) => AsyncIterable<T>,
  signal: AbortSignal | undefined,
): AsyncGenerator<T> {
  let retryCount = 0;
  const compactedAt = new Set<string>();
  for (;;) {
    if (signal?.aborted) return;
    const address = endpoints.preferred();
    const attempt = new AbortController();
    const attemptSignal = signal ? AbortSignal.any([signal, attempt.signal]) : attempt.signal;
    try {
      for await (const item of open({ address, signal: attemptSignal })) {
        retryCount = 0;
        compactedAt.clear();
        yield item;
      }
      // The server ended the stream (e.g. it is shutting down): reconnect like after a failure.
      endpoints.markFailed(address);
    } catch (raw) {
      if (signal?.aborted) return;
      const err = errorFromConnect(raw);
      if (err instanceof WatchCompactedError) {
        compactedAt.add(address);
        if (endpoints.all().every((a) => compactedAt.has(a))) throw err;
        endpoints.markFailed(address);
        continue;
      }
      if (!(err instanceof UnavailableError || err instanceof DeadlineExceededError)) throw err;
      if (err instanceof UnavailableError && err.leaderHint) endpoints.setLeader(err.leaderHint.leaderAddress);
      else endpoints.markFailed(address);
    } finally {
      attempt.abort();
    }
    await sleepMs(backoffDelayMs(retryCount++), undefined, { signal }).catch(() => undefined);
  }
}

/** Watch events from `startRevision`, resuming after the last revision seen on reconnect. */
export async function* resumingWatch(
  endpoints: Endpoints,
  open: (a: StreamAttempt, startRevision: bigint) => AsyncIterable<WatchEvent[]>,
  startRevision: bigint,
  signal: AbortSignal | undefined,
): AsyncGenerator<WatchEvent> {
  let next = startRevision;
  const batches = resilientStream(endpoints, (a) => open(a, next), signal);
  for await (const events of batches) {
    for (const event of events) {
      if (event.revision < next) continue; // already delivered before a reconnect
      next = event.revision + 1n;
      yield event;
    }
  }
}

/** Leadership changes, without the repeat of the current leader that each re-subscription sends. */
export async function* dedupedLeaderStream(
  stream: AsyncIterable<WatchLeaderResponse>,
): AsyncGenerator<WatchLeaderResponse> {
  let last: string | undefined;
  for await (const change of stream) {
    const b = change.ballot;
    const keyOf = `${change.leaderId}/${b?.n ?? 0n}/${b?.priority ?? 0}/${b?.pid ?? 0n}`;
    if (keyOf === last) continue;
    last = keyOf;
    yield change;
  }
}

// The retry loop every operation runs in: pick an endpoint (leader first), try within a slice
// of the deadline, follow leader hints, round-robin on connection failures, back off with
// jitter, and give up with DeadlineExceededError when the deadline passes.

import { Code } from "@connectrpc/connect";
import { backoffDelayMs } from "./backoff.ts";
import { Deadline } from "./deadline.ts";
import type { Endpoints } from "./endpoints.ts";
import { CanceledError, DeadlineExceededError, errorFromConnect, PreconditionFailedError, UnavailableError } from "./errors.ts";
import type { OmnimetaError } from "./errors.ts";
import { limits } from "./limits.ts";

/**
 * "idempotent": reads, and writes that carry a request id — safe to re-send after any
 * transport failure. "at-most-once" (membership changes): re-sent only when it surely was not
 * applied (refused connection, or UNAVAILABLE with a leader hint), and never cut short by the
 * per-attempt timeout.
 */
export type RetryPolicy = "idempotent" | "at-most-once";

export interface OperationOptions {
  /** The deadline of the whole operation, all attempts included. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Attempt {
  address: string;
  /** Fires when this attempt's slice of the deadline is used up, or the operation ends. */
  signal: AbortSignal;
  timeoutMs: number;
}

export interface RetryHooks {
  /** Called when a full round over the known endpoints failed: a chance to learn more of them. */
  onRoundFailed?: () => void;
  random?: () => number;
}

export async function withRetry<T>(
  endpoints: Endpoints,
  policy: RetryPolicy,
  options: OperationOptions & { defaultTimeoutMs: number },
  attempt: (a: Attempt) => Promise<T>,
  hooks: RetryHooks = {},
): Promise<T> {
  const deadline = new Deadline(options.timeoutMs ?? options.defaultTimeoutMs, options.signal);
  let retryCount = 0;
  let hintFollows = 0;
  let nodeRejections = 0;
  let lastError: OmnimetaError | undefined;
  for (;;) {
    if (deadline.callerAborted()) throw new CanceledError(Code.Canceled, "operation canceled", { cause: options.signal?.reason });
    if (deadline.expired()) throw deadlineError(deadline, lastError);
    const address = endpoints.preferred();
    // An at-most-once call is not re-sent after a timeout, so it gets all the time there is.
    const timeoutMs = policy === "at-most-once" ? deadline.remainingMs() : Math.min(deadline.remainingMs(), limits.attemptTimeoutMsMax);
    if (timeoutMs < 1) throw deadlineError(deadline, lastError);
    const signal = deadline.attemptSignal(timeoutMs);
    try {
      return await attempt({ address, signal, timeoutMs });
    } catch (raw) {
      if (deadline.callerAborted()) throw new CanceledError(Code.Canceled, "operation canceled", { cause: options.signal?.reason });
      const err = signal.aborted ? attemptTimedOut(address, timeoutMs, raw) : errorFromConnect(raw);
      if (rejectedByNodeState(err) && ++nodeRejections < endpoints.all().length) {
        endpoints.markFailed(address); // this node cannot serve (joining, removed): ask another
        continue;
      }
      if (!retryable(err, policy, signal.aborted)) throw err;
      if (lastError === undefined || !deadline.expired()) lastError = err;
      const hint = err instanceof UnavailableError ? err.leaderHint : undefined;
      if (hint && endpoints.setLeader(hint.leaderAddress) && hintFollows < limits.hintFollowsWithoutBackoffMax) {
        hintFollows++;
        continue;
      }
      hintFollows = 0;
      if (!hint) {
        endpoints.markFailed(address);
        if (endpoints.wrapped()) hooks.onRoundFailed?.();
      }
      await deadline.sleep(backoffDelayMs(retryCount++, { random: hooks.random }));
    }
  }
}

/** FAILED_PRECONDITION about the node (e.g. "node is joining"), not about a key: no PreconditionFailure detail. */
function rejectedByNodeState(err: OmnimetaError): boolean {
  return err instanceof PreconditionFailedError && err.key === "";
}

function retryable(err: OmnimetaError, policy: RetryPolicy, attemptTimedOut: boolean): boolean {
  if (!(err instanceof UnavailableError || err instanceof DeadlineExceededError)) return false;
  if (policy === "idempotent") return true;
  // Surely not applied: the connection was never made, or the server refused before acting on it
  // (UNAVAILABLE with a LeaderHint detail, which names no leader when none is known yet). A bare
  // UNAVAILABLE may come after the change was proposed.
  return !attemptTimedOut && err instanceof UnavailableError && (err.kind === "connect" || err.redirected);
}

function attemptTimedOut(address: string, timeoutMs: number, cause: unknown): OmnimetaError {
  return new DeadlineExceededError(Code.DeadlineExceeded, `no answer from ${address} within ${Math.round(timeoutMs)} ms`, { cause });
}

function deadlineError(deadline: Deadline, last: OmnimetaError | undefined): DeadlineExceededError {
  const why = last ? `; last error: ${last.message}` : "";
  return new DeadlineExceededError(Code.DeadlineExceeded, `deadline of ${deadline.timeoutMs} ms exceeded${why}`, { cause: last });
}

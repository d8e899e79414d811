// The one retry policy bench:etcd applies to both systems: an attempt has a deadline; UNAVAILABLE,
// DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED are retried after a doubling backoff (no jitter, so both
// systems see the same schedule) until the operation's budget runs out. An UNAVAILABLE or a deadline
// makes the client look for the leader again. Anything else fails the operation at once.
import { setTimeout as sleep } from "node:timers/promises";
import type { LeaderFinder } from "./leader-finder.ts";
import { grpc, grpcCodeOf } from "./unary-client.ts";

export const RETRY_POLICY = { attemptTimeoutMs: 2000, operationBudgetMs: 10_000, backoffFirstMs: 10, backoffMaxMs: 200 } as const;

const RETRYABLE = new Set<grpc.status>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED]);
const LEADER_LOST = new Set<grpc.status>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

/** Retries by gRPC code name, counted over a case. */
export type RetryCounts = Map<string, number>;

/** Runs `attempt` against the leader under RETRY_POLICY; throws the last error when the budget is spent. */
export async function withRetry(finder: LeaderFinder, retries: RetryCounts, attempt: (endpoint: string, timeoutMs: number) => Promise<void>): Promise<void> {
  const deadline = performance.now() + RETRY_POLICY.operationBudgetMs;
  let backoffMs: number = RETRY_POLICY.backoffFirstMs;
  for (;;) {
    const endpoint = await finder.leader();
    let error: unknown = new Error("no leader found");
    let code = grpc.status.UNAVAILABLE;
    if (endpoint !== undefined) {
      try {
        return await attempt(endpoint, RETRY_POLICY.attemptTimeoutMs);
      } catch (e) {
        error = e;
        code = grpcCodeOf(e);
        if (!RETRYABLE.has(code)) throw e;
        if (LEADER_LOST.has(code)) void finder.lost(endpoint);
      }
    }
    if (performance.now() + backoffMs > deadline) throw error;
    const name = grpc.status[code] ?? String(code);
    retries.set(name, (retries.get(name) ?? 0) + 1);
    await sleep(backoffMs);
    backoffMs = Math.min(RETRY_POLICY.backoffMaxMs, backoffMs * 2);
  }
}

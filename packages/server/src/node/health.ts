// What GET /health and GET /ready answer, from the node's status: [HTTP status, JSON body with a reason
// when failing]. /health: the node is an active member and knows a leader (a cluster it can serve from).
// /ready (for load balancers): healthy, not shutting down, and its applied index close to its decided one.

import type { NodeStatus } from "./node-status.ts";

/** A node whose applied index is further behind its decided index than this is not ready (catching up). */
export const readyApplyLagMax = 1000;

export interface HealthInput {
  status: NodeStatus;
  /** SIGTERM or close() began: a load balancer should stop sending new requests. */
  shuttingDown: boolean;
}

type Answer = [number, Record<string, unknown>];

function body(s: NodeStatus, reason: string | undefined): Record<string, unknown> {
  return {
    status: reason === undefined ? "ok" : "unavailable",
    ...(reason === undefined ? {} : { reason }),
    state: s.state,
    nodeId: s.nodeId,
    leaderId: s.leaderId,
    decidedIdx: s.decidedIdx,
    appliedIdx: s.appliedIdx,
  };
}

function unhealthyReason(s: NodeStatus): string | undefined {
  if (s.state !== "active") return `node is ${s.state}${s.stateDetail ? `: ${s.stateDetail}` : ""}`;
  if (s.leaderId === 0) return "no leader known";
  return undefined;
}

export function health({ status }: HealthInput): Answer {
  const reason = unhealthyReason(status);
  return [reason === undefined ? 200 : 503, body(status, reason)];
}

export function ready({ status, shuttingDown }: HealthInput): Answer {
  let reason = shuttingDown ? "node is shutting down" : unhealthyReason(status);
  const lag = status.decidedIdx - status.appliedIdx;
  if (reason === undefined && lag > readyApplyLagMax) reason = `catching up: applied index ${status.appliedIdx} is ${lag} behind decided ${status.decidedIdx}`;
  return [reason === undefined ? 200 : 503, body(status, reason)];
}

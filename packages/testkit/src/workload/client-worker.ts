// One workload client (a "process" of the history): issues get / put / compare-and-set / delete
// on a few hot keys, one op at a time. An ambiguous write is retried with the SAME request id on
// another node until it gets a definite answer or the op's deadline passes (then it is `info`).
import { setTimeout as sleep } from "node:timers/promises";
import type { OpInput, OpOutput } from "../linearizability/history.ts";
import type { NodeClient } from "../cluster/node-client.ts";
import type { Prng } from "../util/prng.ts";
import { executeOp, type Attempt } from "./execute-op.ts";
import type { HistoryRecorder } from "./history-recorder.ts";
import type { SessionMux } from "./session-mux.ts";

/** A node as a workload client reaches it: unary calls, or its shared Session stream when set. */
export interface NodeTarget {
  client: NodeClient;
  session?: SessionMux;
}

export interface WorkloadOptions {
  keys: readonly string[];
  /** A whole op, retries included, ends `info` after this long. */
  opTimeoutMs: number;
  /** One RPC's deadline. */
  attemptTimeoutMs: number;
  /** Pause between ops of one client. */
  thinkMs: number;
  /** Chance that a write which succeeded is sent once more with its request id (a lost reply). */
  duplicateRate: number;
  /** Prefix of request ids, unique per run. */
  runId: string;
}

export class ClientWorker {
  /** The last version this client saw per key (0: absent), to aim compare-and-set well. */
  private readonly seen = new Map<string, number>();
  private nodeIdx: number;
  opCount = 0;

  constructor(
    readonly process: number,
    private readonly nodes: () => readonly NodeTarget[],
    private readonly recorder: HistoryRecorder,
    private readonly rng: Prng,
    private readonly options: WorkloadOptions,
  ) {
    this.nodeIdx = process;
  }

  async run(stopped: () => boolean): Promise<void> {
    while (!stopped()) {
      await this.runOp(this.nextInput());
      if (this.options.thinkMs > 0) await sleep(this.rng.int(this.options.thinkMs * 2));
    }
  }

  private nextInput(): OpInput {
    const key = this.rng.pick(this.options.keys);
    const value = `p${this.process}-${this.opCount + 1}`;
    const r = this.rng.float();
    if (r < 0.45) return { f: "get", key };
    if (r < 0.65) return { f: "put", key, value, pre: { kind: "none" } };
    const seen = this.seen.get(key) ?? 0;
    if (r < 0.88) return { f: "put", key, value, pre: seen === 0 ? { kind: "absent" } : { kind: "version", version: seen } };
    return { f: "delete", key, pre: seen > 0 && this.rng.chance(0.5) ? { kind: "version", version: seen } : { kind: "none" } };
  }

  /** Runs one op to a definite answer or to its deadline, and records it. */
  async runOp(input: OpInput): Promise<void> {
    this.opCount++;
    const opId = this.recorder.invoke(this.process, input);
    const requestId = `${this.options.runId}-${this.process}-${opId}`;
    const deadline = Date.now() + this.options.opTimeoutMs;
    let last: Attempt = { type: "info", error: "no attempt made" };
    // An op none of whose attempts reached a server definitely had no effect.
    let reachedServer = false;
    while (Date.now() < deadline) {
      const nodes = this.nodes();
      const target = nodes[this.nodeIdx % nodes.length];
      last = await executeOp(target.client, input, requestId, Math.max(1, Math.min(this.options.attemptTimeoutMs, deadline - Date.now())), target.session);
      if (last.type === "ok" && input.f !== "get" && this.rng.chance(this.options.duplicateRate)) {
        last = await this.resend(target, input, requestId, last);
      }
      if (last.type !== "info") break;
      if (!last.neverSent) reachedServer = true;
      this.nodeIdx++;
      await sleep(20 + this.rng.int(80));
    }
    if (last.type === "info" && !reachedServer) last = { type: "fail", error: `never sent: ${last.error}` };
    if (last.type === "ok" || last.type === "fail") this.observe(input, last.output);
    this.recorder.complete(this.process, opId, last.type, last.type === "info" ? undefined : last.output, last.type === "ok" ? undefined : last.error);
  }

  /** Sends an applied write again with the same request id; de-duplication must answer the same. */
  private async resend(target: NodeTarget, input: OpInput, requestId: string, first: Attempt): Promise<Attempt> {
    const again = await executeOp(target.client, input, requestId, this.options.attemptTimeoutMs, target.session);
    // An ambiguous resend tells nothing new: the first answer stands.
    return again.type === "info" ? first : again;
  }

  private observe(input: OpInput, output: OpOutput | undefined): void {
    if (output === undefined) return;
    const key = input.key;
    if (output.kind === "value") this.seen.set(key, output.version);
    else if (output.kind === "absent" || output.kind === "deleted") this.seen.set(key, 0);
    else if (output.kind === "written") this.seen.set(key, output.version);
    else if (output.kind === "preconditionFailed") this.seen.set(key, output.exists ? output.version : 0);
  }
}

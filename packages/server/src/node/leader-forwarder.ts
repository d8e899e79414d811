// Forwards requests from a non-leader to the leader over ONE long-lived Session stream per leader
// (pipelined, answers matched by id). Marked with the `omnimeta-forwarded` header so the receiver never
// forwards again. A broken stream fails its pending requests UNAVAILABLE at once; clients retry (writes
// keep their request id, so a retry is applied once).

import { Code } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { SessionRequestSchema, type SessionRequest, type SessionResponse } from "@omnimeta/proto";
import { AsyncQueue } from "../peer/async-queue.ts";
import type { PeerClients } from "../peer/peer-clients.ts";
import { OpError, resourceExhausted, unavailable } from "../rpc/op-error.ts";
import type { Logger } from "../log.ts";

export const FORWARDED_HEADER = "omnimeta-forwarded";

type Op = SessionRequest["op"];
export type SessionResult = SessionResponse["result"];

interface Waiter {
  resolve: (r: SessionResult) => void;
  reject: (e: OpError) => void;
  timer: NodeJS.Timeout;
}

class ForwardStream {
  readonly pending = new Map<bigint, Waiter>();
  readonly queue: AsyncQueue<SessionRequest>;
  private nextId = 1n;
  private readonly abort = new AbortController();
  closed = false;

  constructor(
    readonly address: string,
    clients: PeerClients,
    private readonly onClosed: (s: ForwardStream) => void,
    capacity: number,
  ) {
    this.queue = new AsyncQueue(capacity);
    const responses = clients.get(address).metadata.session(this.queue, {
      signal: this.abort.signal,
      headers: { [FORWARDED_HEADER]: "1" },
    });
    void this.read(responses);
  }

  send(op: Op, timeoutMs: number): Promise<SessionResult> {
    const id = this.nextId++;
    return new Promise<SessionResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(unavailable(`the leader at ${this.address} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.queue.push(create(SessionRequestSchema, { id, op }));
    });
  }

  private async read(responses: AsyncIterable<SessionResponse>): Promise<void> {
    let reason = "the leader closed the forwarding stream";
    try {
      for await (const r of responses) {
        const w = this.pending.get(r.id);
        if (!w) continue;
        this.pending.delete(r.id);
        clearTimeout(w.timer);
        if (r.result.case === "error") w.reject(OpError.fromSessionError(r.result.value));
        else w.resolve(r.result);
        if (this.queue.isEnded && this.pending.size === 0) break;
      }
      if (this.queue.isEnded) this.abort.abort();
    } catch (e) {
      reason = `forwarding to the leader at ${this.address} failed: ${(e as Error).message}`;
    }
    this.fail(reason);
  }

  /** Stops taking requests; those in flight still get their answers. */
  retire(): void {
    this.queue.end();
    if (this.pending.size === 0) this.close();
  }

  close(): void {
    this.abort.abort();
    this.fail("forwarding stream closed");
  }

  private fail(reason: string): void {
    if (!this.closed) {
      this.closed = true;
      this.queue.end();
      this.onClosed(this);
    }
    for (const w of this.pending.values()) {
      clearTimeout(w.timer);
      w.reject(new OpError(Code.Unavailable, reason));
    }
    this.pending.clear();
  }
}

export class LeaderForwarder {
  private current: ForwardStream | undefined;
  private readonly retired = new Set<ForwardStream>();

  constructor(
    private readonly clients: PeerClients,
    private readonly inflightMax: number,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  get inflight(): number {
    let n = this.current?.pending.size ?? 0;
    for (const s of this.retired) n += s.pending.size;
    return n;
  }

  forward(leaderAddress: string, op: Op): Promise<SessionResult> {
    if (this.inflight >= this.inflightMax) {
      return Promise.reject(resourceExhausted(`too many requests forwarded to the leader (${this.inflightMax})`));
    }
    if (!this.current || this.current.closed || this.current.address !== leaderAddress) {
      if (this.current && !this.current.closed) {
        this.retired.add(this.current);
        this.current.retire();
      }
      this.logger.debug("forwarding to leader", { leader: leaderAddress });
      this.current = new ForwardStream(leaderAddress, this.clients, (s) => this.onClosed(s), this.inflightMax);
    }
    return this.current.send(op, this.timeoutMs);
  }

  /** The leader moved: stop using a stream to anyone else (answers in flight still arrive). */
  leaderChanged(leaderAddress: string): void {
    if (this.current && this.current.address !== leaderAddress) {
      this.retired.add(this.current);
      this.current.retire();
      this.current = undefined;
    }
  }

  private onClosed(s: ForwardStream): void {
    this.retired.delete(s);
    if (this.current === s) this.current = undefined;
  }

  close(): void {
    this.current?.close();
    for (const s of this.retired) s.close();
    this.retired.clear();
  }
}

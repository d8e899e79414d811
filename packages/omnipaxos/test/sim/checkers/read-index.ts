// Read-index safety: a read confirmed by takeReadyReads() at idx must observe every write decided anywhere
// before readIndex() was called (idx >= the decided log's length then), and the node serving it must have
// decided up to idx. This is what makes the server's linearizable reads linearizable.

import { check } from "./violation.ts";

interface PendingRead {
  pid: number;
  /** One past the highest slot known decided (by any node) when the read began. */
  requiredIdx: number;
}

export class ReadIndexChecker {
  private readonly pending = new Map<number, PendingRead>();
  private nextToken = 1;
  readyCount = 0;
  failedCount = 0;

  begin(pid: number, requiredIdx: number): number {
    const token = this.nextToken++;
    this.pending.set(token, { pid, requiredIdx });
    return token;
  }

  /** readIndex() threw: nothing to track. */
  cancel(token: number): void {
    this.pending.delete(token);
  }

  ready(pid: number, token: number, idx: number, decidedIdx: number): void {
    const p = this.pending.get(token);
    check(p !== undefined && p.pid === pid, "read-index", () => `node ${pid} returned read token ${token}, which it was not asked (or returned twice)`);
    check(idx >= p.requiredIdx, "read-index", () => `node ${pid} confirmed read ${token} at idx ${idx}, but slot ${p.requiredIdx - 1} was decided before the read began: a stale read`);
    check(idx <= decidedIdx, "read-index", () => `node ${pid} confirmed read ${token} at idx ${idx} with decidedIdx ${decidedIdx}`);
    this.pending.delete(token);
    this.readyCount++;
  }

  failed(pid: number, token: number): void {
    const p = this.pending.get(token);
    check(p !== undefined && p.pid === pid, "read-index", () => `node ${pid} failed read token ${token}, which it was not asked (or returned twice)`);
    this.pending.delete(token);
    this.failedCount++;
  }

  /** A crashed node forgets its reads (the server fails those clients with the connection). */
  nodeLost(pid: number): void {
    for (const [t, p] of this.pending) if (p.pid === pid) this.pending.delete(t);
  }
}

// The fate of every accepted append: decided, reported dropped (takeDroppedProposals), or lost with the
// in-memory state of a node that crashed or shut down. A value dropped as "reconfigured" (can no longer be
// decided) must never be decided; after the liveness phase nothing may be left pending (no silent loss).

import { check } from "./violation.ts";

export class ProposalFateChecker {
  /** Accepted by append() at node pid, fate unknown yet. */
  private readonly pending = new Map<number, number>(); // value -> pid
  private readonly droppedForGood = new Set<number>();
  droppedCount = 0;
  lostByCrashCount = 0;

  appended(value: number, pid: number): void {
    this.pending.set(value, pid);
  }

  decided(value: number): void {
    check(!this.droppedForGood.has(value), "proposal-fate", () => `value ${value} was reported dropped ("reconfigured": can no longer be decided) but was decided`);
    this.pending.delete(value);
  }

  dropped(value: number, reason: string, pid: number, isDecided: boolean): void {
    this.droppedCount++;
    if (reason === "reconfigured") {
      check(!isDecided, "proposal-fate", () => `node ${pid} reported value ${value} dropped ("reconfigured") but it is already decided`);
      this.droppedForGood.add(value);
    }
    this.pending.delete(value);
  }

  /** Node `pid` crashed or shut down: proposals it held only in memory are gone with it. */
  nodeLost(pid: number): void {
    for (const [v, p] of this.pending) {
      if (p !== pid) continue;
      this.pending.delete(v);
      this.lostByCrashCount++;
    }
  }

  pendingValues(): Array<[number, number]> {
    return [...this.pending];
  }
}

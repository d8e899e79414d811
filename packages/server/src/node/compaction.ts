// Log compaction policy: without it the log (SQLite `log` table and its caches) grows forever. After each
// flush a node folds its own applied prefix into a LOCAL snapshot once it is `slots` slots past the last
// one; no cross-node agreement is needed, because a node behind a compacted prefix is synced from a snapshot.

import { CompactionError } from "@omnimeta/omnipaxos";
import type { Logger } from "../log.ts";
import type { Histogram } from "../metrics.ts";

/** Where a node's log stands after a flush (slot counts, as the core reports them). */
export interface CompactionProgress {
  decidedIdx: number;
  compactedIdx: number;
  /** Slots applied to the state machine (its applied revision). */
  appliedIdx: number;
}

/**
 * The slot to snapshot up to (exclusive), or undefined while fewer than `slots` applied slots are
 * uncompacted. `holdIdx`: a slot the log must keep, if any (a peer is being sent the snapshot at that slot
 * and will need the entries after it; compacting past it sent that peer a whole new snapshot once the first
 * had arrived: bench:join copied and offered the state twice).
 */
export function compactionTarget(p: CompactionProgress, slots: number, holdIdx?: number): number | undefined {
  const target = Math.min(p.decidedIdx, p.appliedIdx, holdIdx ?? Infinity);
  return target - p.compactedIdx >= slots ? target : undefined;
}

/** The part of the core compaction uses. */
export interface Compactable {
  getDecidedIdx(): number;
  getCompactedIdx(): number;
  snapshot(idx?: number, localOnly?: boolean): void;
}

/** A compaction blocks the event loop for O(slots compacted) (the snapshot is the node's own tables,
 *  storedKvSnapshotSpec); the next one waits this many times as long, so compacting takes at most
 *  1/(1+this) of the node's time even when a snapshot must be resolved in memory. */
const idleFactor = 19;

export class LogCompaction {
  /** After a refused attempt, the next one waits until decidedIdx reaches this slot. */
  private retryAt = 0;
  /** No compaction before this time (ms, `now()`): bounds the share of time spent compacting. */
  private notBefore = -Infinity;

  constructor(
    private readonly slots: number,
    private readonly logger: Logger,
    private readonly seconds?: Histogram,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Called after every flush; snapshots [compactedIdx, applied) when due. Errors mean "not now", never a crash:
   *  the writes it stages are committed by the next flush (a crash before that only loses the compaction). */
  afterFlush(core: Compactable, appliedIdx: number, holdIdx?: number): void {
    const decidedIdx = core.getDecidedIdx();
    if (decidedIdx < this.retryAt) return;
    const compactedIdx = core.getCompactedIdx();
    const target = compactionTarget({ decidedIdx, compactedIdx, appliedIdx }, this.slots, holdIdx);
    if (target === undefined) return;
    const started = this.now();
    if (started < this.notBefore) return;
    try {
      core.snapshot(target, true);
    } catch (e) {
      this.retryAt = decidedIdx + this.slots;
      const fields = { target, compactedIdx, decidedIdx, error: (e as Error).message };
      if (e instanceof CompactionError) this.logger.debug("compaction not now", { ...fields, code: e.code });
      else this.logger.warn("compaction failed; retrying later", fields);
      return;
    }
    const ended = this.now();
    const durationMs = ended - started;
    this.notBefore = ended + durationMs * idleFactor;
    this.seconds?.observe(durationMs / 1000);
    this.logger.debug("compacted", { from: compactedIdx, to: core.getCompactedIdx(), durationMs: Math.round(durationMs) });
  }
}

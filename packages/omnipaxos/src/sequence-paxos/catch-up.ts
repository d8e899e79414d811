// Catch-up across configurations: a node left in an ended configuration receives the decided log
// (or the snapshot, then the rest) from a node of a later one. Only decided slots travel, so they
// can be written over whatever undecided tail the receiver still has.
import type { CatchUp, CatchUpRequest, SyncPayload } from "../messages.ts";
import type { SequencePaxos } from "./sequence-paxos.ts";
import { stepDown } from "./follower.ts";
import { buildSync, installSnapshot } from "./sync.ts";

/** Decided slots from the requester's decidedIdx, capped; undefined if we cannot serve it. */
export function buildCatchUp<T, S>(sp: SequencePaxos<T, S>, req: CatchUpRequest): SyncPayload<T, S> | undefined {
  const from = Math.min(req.decidedIdx, sp.decidedIdx);
  return buildSync(sp, from, sp.decidedIdx, true);
}

/** Applies decided slots; returns true when we now hold everything the sender had decided. */
export function applyCatchUp<T, S>(sp: SequencePaxos<T, S>, msg: CatchUp<T, S>): boolean {
  // Slots are about to be decided by another configuration's word, not by the leader that placed
  // our proposals: settle them by id instead of assuming they are ours (and stop leading).
  const unflushedFromIdx = sp.role === "leader" ? sp.acceptedIdx : undefined;
  if (sp.role === "leader") stepDown(sp);
  sp.phase = "none";
  sp.proposals.onPromiseChanged(unflushedFromIdx);
  const p = msg.sync;
  let start = p.fromIdx;
  let entries = p.entries;
  if (p.snapshot !== undefined) {
    installSnapshot(sp, p.snapshot.compactedIdx, p.snapshot.snapshot);
    start = p.snapshot.compactedIdx;
  }
  if (start > sp.acceptedIdx) return false; // a gap (reordered chunk): ask again from our decidedIdx
  const end = start + entries.length;
  if (end > sp.decidedIdx) {
    const from = Math.max(start, sp.decidedIdx);
    if (from > start) entries = entries.slice(from - start);
    sp.appendOnPrefix(from, entries, true);
    sp.setDecidedIdx(end);
  }
  return sp.decidedIdx >= msg.decidedIdx;
}

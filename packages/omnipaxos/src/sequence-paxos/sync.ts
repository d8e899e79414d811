// Building and installing SyncPayloads (Promise, AcceptSync, CatchUp): a log suffix, preceded by
// the whole snapshot when the receiver is behind the compacted prefix. Shipping the full snapshot
// (never a delta merged on the receiver) keeps the receiver's state equal to a snapshot of all
// decided slots.
import { assert } from "../assert.ts";
import { limits } from "../limits.ts";
import type { SyncPayload } from "../messages.ts";
import type { SequencePaxos } from "./sequence-paxos.ts";

/** Slots [fromIdx, toIdx) (capped to limits.syncEntriesMax if `capped`); undefined when fromIdx
 *  is below the compacted prefix and there is no snapshot to send instead. */
export function buildSync<T, S>(sp: SequencePaxos<T, S>, fromIdx: number, toIdx: number, capped: boolean): SyncPayload<T, S> | undefined {
  assert(fromIdx <= toIdx && toIdx <= sp.acceptedIdx, () => `buildSync(${fromIdx}, ${toIdx}) with acceptedIdx ${sp.acceptedIdx}`);
  if (fromIdx >= sp.compactedIdx) {
    const end = capped ? Math.min(toIdx, fromIdx + limits.syncEntriesMax) : toIdx;
    return { fromIdx, entries: sp.storage.getEntries(fromIdx, end) };
  }
  const snapshot = sp.storage.getSnapshot();
  if (snapshot === undefined) return undefined;
  const start = sp.compactedIdx;
  const end = capped ? Math.min(toIdx, start + limits.syncEntriesMax) : toIdx;
  return { fromIdx, snapshot: { compactedIdx: start, snapshot }, entries: sp.storage.getEntries(start, Math.max(start, end)) };
}

/** End slot of a payload. */
export function syncEnd<T, S>(p: SyncPayload<T, S>): number {
  return (p.snapshot?.compactedIdx ?? p.fromIdx) + p.entries.length;
}

/** Installs a snapshot covering [0, compactedIdx): it is decided state, so decidedIdx rises to it. */
export function installSnapshot<T, S>(sp: SequencePaxos<T, S>, compactedIdx: number, snapshot: S): void {
  if (compactedIdx <= sp.compactedIdx) return;
  sp.storage.setSnapshot(compactedIdx, snapshot);
  sp.compactedIdx = compactedIdx;
  if (sp.acceptedIdx < compactedIdx) sp.acceptedIdx = compactedIdx;
  // A StopSign inside a snapshot only arrives by CatchUp, which switches configuration itself.
  if (sp.stopSignIdx !== undefined && sp.stopSignIdx < compactedIdx) sp.stopSignIdx = undefined;
  if (sp.decidedIdx < compactedIdx) sp.setDecidedIdx(compactedIdx);
}

/**
 * Makes the log equal to [0, payload start) + payload (AcceptSync at a follower, the adopted
 * Promise at a new leader). Decided slots are never lost: a payload ending below decidedIdx only
 * drops the undecided tail.
 */
export function applySync<T, S>(sp: SequencePaxos<T, S>, p: SyncPayload<T, S>): void {
  let start = p.fromIdx;
  let entries = p.entries;
  if (p.snapshot !== undefined) {
    installSnapshot(sp, p.snapshot.compactedIdx, p.snapshot.snapshot);
    start = p.snapshot.compactedIdx;
  }
  assert(start <= sp.acceptedIdx, () => `sync starts at ${start} beyond acceptedIdx ${sp.acceptedIdx}`);
  if (start < sp.compactedIdx) {
    const skip = sp.compactedIdx - start;
    entries = skip >= entries.length ? [] : entries.slice(skip);
    start = sp.compactedIdx;
  }
  if (start + entries.length <= sp.decidedIdx) {
    sp.appendOnPrefix(sp.decidedIdx, []);
    return;
  }
  sp.appendOnPrefix(start, entries);
}

/** Appends the part of a same-round payload beyond our log (never truncates). */
export function extendWithSync<T, S>(sp: SequencePaxos<T, S>, p: SyncPayload<T, S>): void {
  let start = p.fromIdx;
  if (p.snapshot !== undefined) {
    installSnapshot(sp, p.snapshot.compactedIdx, p.snapshot.snapshot);
    start = p.snapshot.compactedIdx;
  }
  assert(start <= sp.acceptedIdx, () => `same-round sync starts at ${start} beyond acceptedIdx ${sp.acceptedIdx}`);
  const skip = sp.acceptedIdx - start;
  if (skip < p.entries.length) sp.appendEntries(skip === 0 ? p.entries : p.entries.slice(skip));
}

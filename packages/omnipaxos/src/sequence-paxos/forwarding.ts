// Proposal forwarding at the leader: per-forwarder sessions with sequence numbers (a resent batch
// is placed once and acknowledged again), and placing proposals that an earlier leader may already
// have placed — at most once, by entryId, once a quorum accepted our ballot.
import { assert } from "../assert.ts";
import { ballotEquals } from "../ballot.ts";
import { limits } from "../limits.ts";
import type { StoredEntry } from "../log-entry.ts";
import type { ProposalForward } from "../messages.ts";
import { appendAsLeader, configurationClosed } from "./leader.ts";
import type { ForwardSessionAtLeader } from "./leader-state.ts";
import type { SequencePaxos } from "./sequence-paxos.ts";

/** A follower forwarded proposals: append them once (per-forwarder sequence numbers) and ack. */
export function handleProposalForward<T, S>(sp: SequencePaxos<T, S>, msg: ProposalForward<T>): void {
  const ls = sp.leader;
  if (ls === undefined || !sp.isLeaderInAccept() || !ballotEquals(msg.n, ls.n)) return;
  let s = ls.forwardSessions.get(msg.from);
  if (s !== undefined && msg.incarnation < s.incarnation) return; // from before the forwarder restarted
  if (s === undefined || msg.incarnation > s.incarnation) {
    s = { incarnation: msg.incarnation, nextSeq: 0, acks: [], early: new Map() };
    ls.forwardSessions.set(msg.from, s);
  }
  s.acks = s.acks.filter((a) => a.seq + a.count > msg.ackedSeq);
  let m: ProposalForward<T> | undefined = msg;
  while (m !== undefined) {
    m = placeForwarded(sp, s, m);
    if (m === undefined) m = takeEarly(s);
  }
}

/** Batches that arrived ahead of a missing one (reordering), applied once the gap fills. */
function takeEarly<T>(s: ForwardSessionAtLeader): ProposalForward<T> | undefined {
  const m = s.early.get(s.nextSeq) as ProposalForward<T> | undefined;
  if (m !== undefined) s.early.delete(s.nextSeq);
  return m;
}

/** Places one forwarded batch (or the part of it beyond what was already placed); returns nothing. */
function placeForwarded<T, S>(sp: SequencePaxos<T, S>, s: ForwardSessionAtLeader, msg: ProposalForward<T>): undefined {
  const end = msg.seq + msg.entries.length;
  if (msg.seq < s.nextSeq) {
    // Already placed (at least in part): acknowledge again, then place the rest, if any.
    for (const a of s.acks) if (a.seq < end && a.seq + a.count > msg.seq) sendAck(sp, msg.from, a.seq, a.count, a.idx, a.rejected);
    if (end <= s.nextSeq) return undefined;
    msg = { ...msg, seq: s.nextSeq, entries: msg.entries.slice(s.nextSeq - msg.seq) };
  }
  if (msg.seq > s.nextSeq) {
    if (s.early.size < limits.forwardEarlyBatchesMax) s.early.set(msg.seq, msg);
    return undefined; // a gap: wait for the missing batch (or the forwarder's resend)
  }
  if (msg.dedupeFromIdx !== undefined) {
    if (!isEstablished(sp)) return undefined; // not yet safe to look: the forwarder resends
    const results = placeOnce(sp, msg.entries, msg.dedupeFromIdx);
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      recordAck(sp, s, msg.from, msg.seq + i, 1, r.idx, r.rejected);
    }
    s.nextSeq = end;
    return undefined;
  }
  let placed = 0;
  let firstIdx = -1;
  for (const e of msg.entries) {
    if (configurationClosed(sp)) break;
    const idx = appendAsLeader(sp, e, false);
    if (firstIdx < 0) firstIdx = idx;
    assert(idx === firstIdx + placed, () => `forwarded entries must take contiguous slots: ${idx} after ${firstIdx}+${placed}`);
    placed++;
  }
  if (placed > 0) recordAck(sp, s, msg.from, msg.seq, placed, firstIdx, false);
  const rest = msg.entries.length - placed;
  if (rest > 0) recordAck(sp, s, msg.from, msg.seq + placed, rest, -1, "reconfigured");
  s.nextSeq = end;
  return undefined;
}

type Rejection = false | "reconfigured" | "unverifiable";

function recordAck<T, S>(sp: SequencePaxos<T, S>, s: ForwardSessionAtLeader, to: number, seq: number, count: number, idx: number, rejected: Rejection): void {
  assert(s.acks.length < limits.pendingProposalsMax, () => `too many unconfirmed forwarding acks for node ${to}`);
  s.acks.push({ seq, count, idx, rejected });
  sendAck(sp, to, seq, count, idx, rejected);
}

function sendAck<T, S>(sp: SequencePaxos<T, S>, to: number, seq: number, count: number, idx: number, rejected: Rejection): void {
  sp.send({
    kind: "ProposalAck", from: sp.pid, to, configurationId: sp.config.configurationId, n: sp.leader!.n, seq, count, idx,
    ...(rejected !== false ? { rejected } : {}),
  });
}

/** A quorum (us included) accepted our ballot: no log of an older ballot can be adopted again,
 *  so an entry an earlier leader placed is either in our log or can never be decided. */
export function isEstablished<T, S>(sp: SequencePaxos<T, S>): boolean {
  const ls = sp.leader;
  if (ls === undefined || sp.phase !== "accept") return false;
  let acked = 1;
  for (const p of ls.progress.values()) if (p.acked) acked++;
  return acked >= sp.quorum;
}

/**
 * Appends entries that an earlier leader may already have placed, each at most once: an entry
 * whose id is found in our log (slots >= fromIdx, batch included) keeps that slot.
 */
function placeOnce<T, S>(sp: SequencePaxos<T, S>, entries: readonly StoredEntry<T>[], fromIdx: number, own = false): { idx: number; rejected: Rejection }[] {
  const idOf = sp.opts.entryId;
  const ls = sp.leader!;
  const found = new Map<string | number, number>();
  if (idOf !== undefined && fromIdx >= sp.compactedIdx) {
    const log = fromIdx < sp.acceptedIdx ? sp.storage.getEntries(fromIdx, sp.acceptedIdx) : [];
    for (let i = 0; i < log.length; i++) { const e = log[i]!; if (e.kind === "entry") found.set(idOf(e.entry), fromIdx + i); }
    for (let i = 0; i < ls.batch.length; i++) { const e = ls.batch[i]!; if (e.kind === "entry") found.set(idOf(e.entry), sp.acceptedIdx + i); }
  }
  return entries.map((e) => {
    if (idOf === undefined || fromIdx < sp.compactedIdx) return { idx: -1, rejected: "unverifiable" as const };
    const at = e.kind === "entry" ? found.get(idOf(e.entry)) : undefined;
    if (at !== undefined) {
      if (own) sp.proposals.placedAt(e, at, ls.n);
      return { idx: at, rejected: false as const };
    }
    if (configurationClosed(sp)) return { idx: -1, rejected: "reconfigured" as const };
    return { idx: appendAsLeader(sp, e, own), rejected: false as const };
  });
}

/** Once established, our own proposals that were in flight to an earlier leader are placed once.
 *  Called from the top-level flush only: appends must never interleave with a forwarded batch
 *  being placed (its acknowledgement assumes contiguous slots). */
export function placeOwnUnplaced<T, S>(sp: SequencePaxos<T, S>): void {
  if (!sp.proposals.hasUnplaced() || !isEstablished(sp)) return;
  const unplaced = sp.proposals.takeUnplaced();
  let from = Number.MAX_SAFE_INTEGER;
  for (const u of unplaced) from = Math.min(from, u.notBeforeIdx);
  const results = placeOnce(sp, unplaced.map((u) => u.entry), from, true);
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (r.rejected !== false) sp.proposals.dropUnplaced(unplaced[i]!.entry, r.rejected === "reconfigured" ? "reconfigured" : "leader-changed");
  }
}

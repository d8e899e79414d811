// The follower side of Sequence Paxos: promise a higher ballot (shipping our log suffix if we are
// more up to date), adopt the leader's log on AcceptSync, append pipelined AcceptDecide batches
// in order, learn decisions, and ask for a Prepare (PrepareReq) when we lost track.
import { assert } from "../assert.ts";
import { ballotEquals, compareBallots } from "../ballot.ts";
import type { AcceptDecide, AcceptSync, Decide, Message, NotAccepted, Prepare } from "../messages.ts";
import type { SequencePaxos } from "./sequence-paxos.ts";
import { applySync, buildSync, extendWithSync } from "./sync.ts";

/** Set by handlers, emitted once per flush: one Accepted per batch of inputs. */
export interface FollowerFlags {
  acceptedPending: boolean;
  /** Nodes that used a ballot below our promise since the last flush (answered NotAccepted). */
  staleSenders: Set<number>;
  /** Send one PrepareReq to this leader at the next flush. */
  prepareReqTo: number | undefined;
}

export function handlePrepare<T, S>(sp: SequencePaxos<T, S>, msg: Prepare): void {
  const c = compareBallots(msg.n, sp.promise);
  if (c < 0) return rejectStale(sp, msg.from);
  if (c === 0 && sp.role === "follower" && sp.phase === "accept") {
    // The leader lost our Accepted (its resend raced it): tell it where we are, stay in the Accept
    // phase (going back to Prepare here made slow links thrash between the two phases).
    sendAccepted(sp);
    return;
  }
  if (c > 0) {
    const unflushedFromIdx = sp.role === "leader" ? sp.acceptedIdx : undefined;
    if (sp.role === "leader") stepDown(sp);
    sp.setPromise(msg.n);
    sp.proposals.onPromiseChanged(unflushedFromIdx);
  }
  sp.role = "follower";
  sp.phase = "prepare";
  let sync;
  const rc = compareBallots(sp.acceptedRound, msg.acceptedRound);
  if (rc > 0) sync = buildSync(sp, Math.min(msg.decidedIdx, sp.acceptedIdx), sp.acceptedIdx, false);
  else if (rc === 0 && sp.acceptedIdx > msg.acceptedIdx) sync = buildSync(sp, msg.acceptedIdx, sp.acceptedIdx, false);
  assert(rc <= 0 || sync !== undefined || sp.acceptedIdx <= msg.decidedIdx, () => `cannot ship our log suffix from ${msg.decidedIdx}: trimmed without a snapshot`);
  const reply: Message<T, S> = {
    kind: "Promise", from: sp.pid, to: msg.from, configurationId: sp.config.configurationId,
    n: msg.n, acceptedRound: sp.acceptedRound, acceptedIdx: sp.acceptedIdx, decidedIdx: sp.decidedIdx,
    ...(sync !== undefined ? { sync } : {}),
  };
  sp.send(reply);
}

/** Leadership lost. The unflushed batch was never written nor sent: our own entries in it are
 *  requeued by Proposals.onPromiseChanged, forwarded ones are retried by their forwarders. */
export function stepDown<T, S>(sp: SequencePaxos<T, S>): void {
  sp.leader = undefined;
  sp.role = "follower";
  sp.reads.failAll();
}

export function handleAcceptSync<T, S>(sp: SequencePaxos<T, S>, msg: AcceptSync<T, S>): void {
  // In the Accept phase of the same ballot an AcceptSync only extends our log (e.g. the leader's
  // snapshot when we fell behind its compaction).
  const extendOnly = sp.phase === "accept" && ballotEquals(sp.acceptedRound, msg.n);
  if (!ballotEquals(msg.n, sp.promise) || (sp.phase !== "prepare" && !extendOnly) || sp.role !== "follower") {
    const c = compareBallots(msg.n, sp.promise);
    if (c > 0) sp.flags.prepareReqTo = msg.from;
    else if (c < 0) rejectStale(sp, msg.from);
    return;
  }
  if (ballotEquals(sp.acceptedRound, msg.n)) {
    // We already accepted in this round, so our log is a prefix of the leader's: only extend it.
    // (A delayed AcceptSync must never shorten a log we already acknowledged.)
    extendWithSync(sp, msg.sync);
  } else {
    applySync(sp, msg.sync);
    sp.setAcceptedRound(msg.n);
  }
  sp.phase = "accept";
  sendAccepted(sp);
  sp.setDecidedIdx(Math.min(msg.decidedIdx, sp.acceptedIdx));
}

export function handleAcceptDecide<T, S>(sp: SequencePaxos<T, S>, msg: AcceptDecide<T>): void {
  if (!ballotEquals(msg.n, sp.promise) || sp.phase !== "accept" || sp.role !== "follower") {
    // A leader we have not (or no longer) synced with: ask it for a Prepare, once per flush.
    if (compareBallots(msg.n, sp.promise) > 0 || (ballotEquals(msg.n, sp.promise) && sp.role === "follower")) sp.flags.prepareReqTo = msg.from;
    else if (compareBallots(msg.n, sp.promise) < 0) rejectStale(sp, msg.from);
    return;
  }
  if (msg.startIdx > sp.acceptedIdx) return; // a gap (lost or reordered batch): the leader resends
  const skip = sp.acceptedIdx - msg.startIdx;
  if (skip < msg.entries.length) sp.appendEntries(skip === 0 ? msg.entries : msg.entries.slice(skip));
  sp.flags.acceptedPending = true;
  sp.setDecidedIdx(Math.min(msg.decidedIdx, sp.acceptedIdx));
}

export function handleDecide<T, S>(sp: SequencePaxos<T, S>, msg: Decide): void {
  if (!ballotEquals(msg.n, sp.promise) || sp.phase !== "accept" || sp.role !== "follower") {
    if (compareBallots(msg.n, sp.promise) > 0 || (ballotEquals(msg.n, sp.promise) && sp.role === "follower")) sp.flags.prepareReqTo = msg.from;
    else if (compareBallots(msg.n, sp.promise) < 0) rejectStale(sp, msg.from);
    return;
  }
  sp.setDecidedIdx(Math.min(msg.decidedIdx, sp.acceptedIdx));
}

export function sendAccepted<T, S>(sp: SequencePaxos<T, S>): void {
  sp.flags.acceptedPending = false;
  sp.send({ kind: "Accepted", from: sp.pid, to: sp.promise.pid, configurationId: sp.config.configurationId, n: sp.promise, acceptedIdx: sp.acceptedIdx });
}

export function sendPrepareReq<T, S>(sp: SequencePaxos<T, S>, to: number): void {
  sp.send({ kind: "PrepareReq", from: sp.pid, to, configurationId: sp.config.configurationId });
}

/** Flush: the coalesced Accepted for everything appended since the last one. */
/** A message under a ballot below our promise: tell its sender (once per flush). */
export function rejectStale<T, S>(sp: SequencePaxos<T, S>, from: number): void {
  sp.flags.staleSenders.add(from);
}

/** A node told us it promised a higher ballot: we are not leading (or following) the latest one. */
export function handleNotAccepted<T, S>(sp: SequencePaxos<T, S>, msg: NotAccepted): void {
  if (compareBallots(msg.n, sp.promise) <= 0) return;
  const unflushedFromIdx = sp.role === "leader" ? sp.acceptedIdx : undefined;
  if (sp.role === "leader") stepDown(sp);
  sp.setPromise(msg.n);
  sp.proposals.onPromiseChanged(unflushedFromIdx);
  sp.phase = "recover";
  sp.flags.prepareReqTo = msg.n.pid;
}

function flushStale<T, S>(sp: SequencePaxos<T, S>): void {
  if (sp.flags.staleSenders.size === 0) return;
  for (const to of sp.flags.staleSenders) sp.send({ kind: "NotAccepted", from: sp.pid, to, configurationId: sp.config.configurationId, n: sp.promise });
  sp.flags.staleSenders.clear();
}

export function followerFlush<T, S>(sp: SequencePaxos<T, S>): void {
  flushStale(sp);
  if (sp.flags.acceptedPending && sp.role === "follower" && sp.phase === "accept") sendAccepted(sp);
  const to = sp.flags.prepareReqTo;
  if (to !== undefined) {
    sp.flags.prepareReqTo = undefined;
    if (sp.role === "follower" && sp.phase !== "accept") sendPrepareReq(sp, to);
  }
}

/** Resend timeout at a follower: a recovering node keeps asking for a Prepare. */
export function followerResend<T, S>(sp: SequencePaxos<T, S>, leaderHint: number | undefined): void {
  if (sp.phase !== "recover") return;
  if (leaderHint !== undefined && leaderHint !== sp.pid) sendPrepareReq(sp, leaderHint);
  else for (const to of sp.peers) sendPrepareReq(sp, to);
}

// The leader side of Sequence Paxos: Prepare phase (collect a quorum of Promises, adopt the most
// up-to-date log), then Accept phase (AcceptSync each follower, batch and pipeline AcceptDecide,
// decide on a quorum of Accepted), plus resends. Forwarded proposals: forwarding.ts.
import { assert } from "../assert.ts";
import { ballotEquals, compareBallots, type Ballot } from "../ballot.ts";
import { limits } from "../limits.ts";
import type { StoredEntry } from "../log-entry.ts";
import type { Accepted, PrepareReq, PromiseMessage } from "../messages.ts";
import { quorumIdx } from "../quorum.ts";
import { LeaderState, type FollowerProgress, type PromiseInfo } from "./leader-state.ts";
import type { SequencePaxos } from "./sequence-paxos.ts";
import { applySync, buildSync, syncEnd } from "./sync.ts";

/** Ballot Leader Election chose us with ballot n (> our promise). */
export function becomeLeader<T, S>(sp: SequencePaxos<T, S>, n: Ballot): void {
  assert(compareBallots(n, sp.promise) > 0 && n.pid === sp.pid, () => `becomeLeader with a ballot not above our promise`);
  const unflushedFromIdx = sp.role === "leader" ? sp.acceptedIdx : undefined;
  sp.reads.failAll();
  sp.setPromise(n);
  sp.proposals.onPromiseChanged(unflushedFromIdx);
  sp.role = "leader";
  sp.phase = "prepare";
  const ls = new LeaderState<T, S>(n);
  sp.leader = ls;
  ls.promises.set(sp.pid, { acceptedRound: sp.acceptedRound, acceptedIdx: sp.acceptedIdx, decidedIdx: sp.decidedIdx, sync: undefined });
  for (const to of sp.peers) sendPrepare(sp, to);
  maybeFinishPrepare(sp);
}

export function sendPrepare<T, S>(sp: SequencePaxos<T, S>, to: number): void {
  sp.send({
    kind: "Prepare", from: sp.pid, to, configurationId: sp.config.configurationId,
    n: sp.leader!.n, decidedIdx: sp.decidedIdx, acceptedRound: sp.acceptedRound, acceptedIdx: sp.acceptedIdx,
  });
}

export function handlePromise<T, S>(sp: SequencePaxos<T, S>, msg: PromiseMessage<T, S>): void {
  const ls = sp.leader;
  if (sp.role !== "leader" || ls === undefined || !ballotEquals(msg.n, ls.n)) return;
  const info: PromiseInfo<T, S> = { acceptedRound: msg.acceptedRound, acceptedIdx: msg.acceptedIdx, decidedIdx: msg.decidedIdx, sync: msg.sync };
  if (sp.phase === "prepare") {
    ls.promises.set(msg.from, info);
    maybeFinishPrepare(sp);
  } else {
    sendAcceptSync(sp, msg.from, info); // late or repeated promise: (re)sync that follower
  }
}

function isMoreUpToDate<T, S>(a: PromiseInfo<T, S>, b: PromiseInfo<T, S>): boolean {
  const c = compareBallots(a.acceptedRound, b.acceptedRound);
  return c > 0 || (c === 0 && a.acceptedIdx > b.acceptedIdx);
}

function maybeFinishPrepare<T, S>(sp: SequencePaxos<T, S>): void {
  const ls = sp.leader!;
  if (ls.promises.size < sp.quorum) return;
  const own = ls.promises.get(sp.pid)!;
  let max = own;
  for (const p of ls.promises.values()) if (isMoreUpToDate(p, max)) max = p;
  if (max !== own) {
    assert(max.sync !== undefined, () => `the most up-to-date promise carries no log suffix`);
    applySync(sp, max.sync);
  }
  // Log first, then the round that vouches for it (durability order).
  sp.setAcceptedRound(ls.n);
  sp.phase = "accept";
  ls.maxPromiseRound = max.acceptedRound;
  ls.maxPromiseAcceptedIdx = max.acceptedIdx;
  ls.inheritedIdx = sp.acceptedIdx;
  for (const [pid, p] of ls.promises) if (pid !== sp.pid) sendAcceptSync(sp, pid, p);
  ls.promises.clear();
  placeQueued(sp);
  flushBatch(sp);
}

/** Places our queued proposals (Prepare just ended, or settle() re-queued proposals an earlier leader
 *  placed in slots that were decided with other values) in the batch. Called from maybeFinishPrepare
 *  and the top-level flush only, never from flushBatch: appends must not interleave with a forwarded
 *  batch being placed (its acknowledgement assumes contiguous slots). */
export function placeQueued<T, S>(sp: SequencePaxos<T, S>): void {
  if (sp.proposals.queue.length === 0) return;
  const queued = sp.proposals.takeQueue();
  for (const e of queued) {
    if (configurationClosed(sp)) sp.proposals.drop(e, "reconfigured");
    else appendAsLeader(sp, e, true);
  }
}

function sendAcceptSync<T, S>(sp: SequencePaxos<T, S>, to: number, p: PromiseInfo<T, S>): void {
  const ls = sp.leader!;
  // Its log is a prefix of ours if it accepted in our ballot, or in the round of the log we adopted
  // (up to that log's length); otherwise its undecided tail may differ: resync from its decided index.
  const from = ballotEquals(p.acceptedRound, ls.n) ? Math.min(p.acceptedIdx, sp.acceptedIdx)
    : ballotEquals(p.acceptedRound, ls.maxPromiseRound) ? Math.min(p.acceptedIdx, ls.inheritedIdx)
    : Math.min(p.decidedIdx, sp.acceptedIdx);
  const sync = buildSync(sp, from, sp.acceptedIdx, true);
  if (sync === undefined) return; // trimmed without a snapshot: this follower cannot be synced
  sp.send({ kind: "AcceptSync", from: sp.pid, to, configurationId: sp.config.configurationId, n: ls.n, sync, decidedIdx: sp.decidedIdx });
  const end = syncEnd(sync);
  ls.progress.set(to, { acked: false, acceptedIdx: 0, nextIdx: end, acceptedIdxAtLastResend: 0, decidedIdxSent: sp.decidedIdx });
}

/** True once this configuration can take no more proposals. */
export function configurationClosed<T, S>(sp: SequencePaxos<T, S>): boolean {
  return sp.stopSignIdx !== undefined || (sp.leader?.stopSignInBatch ?? false);
}

/** Appends a proposal to the batch (Accept phase only). `own`: proposed at this node (tracked for its fate). */
export function appendAsLeader<T, S>(sp: SequencePaxos<T, S>, e: StoredEntry<T>, own: boolean): number {
  const ls = sp.leader!;
  assert(sp.isLeaderInAccept() && !configurationClosed(sp), () => `appendAsLeader outside an open Accept phase`);
  const idx = sp.acceptedIdx + ls.batch.length;
  ls.batch.push(e);
  if (own) sp.proposals.placedLocally(e, idx, ls.n);
  if (e.kind === "stopsign") {
    ls.stopSignInBatch = true;
    sp.proposals.dropQueued("reconfigured");
  }
  if (ls.batch.length >= sp.server.batchSize) flushBatch(sp);
  return idx;
}

/** Writes the batch to the log and pipelines it to every follower that is exactly caught up;
 *  sends Decide to followers that only miss the decided index. */
export function flushBatch<T, S>(sp: SequencePaxos<T, S>): void {
  const ls = sp.leader;
  if (ls === undefined || sp.phase !== "accept") return;
  const batch = ls.batch;
  if (batch.length > 0) {
    const start = sp.acceptedIdx;
    ls.batch = [];
    sp.appendEntries(batch);
    for (const [to, p] of ls.progress) {
      if (p.nextIdx !== start || p.nextIdx - p.acceptedIdx > limits.pipelineEntriesMax) continue;
      sp.send({ kind: "AcceptDecide", from: sp.pid, to, configurationId: sp.config.configurationId, n: ls.n, startIdx: start, entries: batch, decidedIdx: sp.decidedIdx });
      p.nextIdx = sp.acceptedIdx;
      p.decidedIdxSent = sp.decidedIdx;
    }
    updateDecided(sp);
  }
  if (ls.decidePending && sp.leader === ls) {
    ls.decidePending = false;
    for (const [to, p] of ls.progress) {
      if (!p.acked || p.decidedIdxSent >= sp.decidedIdx) continue;
      sp.send({ kind: "Decide", from: sp.pid, to, configurationId: sp.config.configurationId, n: ls.n, decidedIdx: sp.decidedIdx });
      p.decidedIdxSent = sp.decidedIdx;
    }
  }
}

function updateDecided<T, S>(sp: SequencePaxos<T, S>): void {
  const ls = sp.leader!;
  const values = [sp.acceptedIdx];
  for (const p of ls.progress.values()) if (p.acked) values.push(p.acceptedIdx);
  const d = quorumIdx(values, sp.quorum);
  if (d > sp.decidedIdx) {
    ls.decidePending = true;
    sp.setDecidedIdx(d);
  }
}

export function handleAccepted<T, S>(sp: SequencePaxos<T, S>, msg: Accepted): void {
  const ls = sp.leader;
  if (ls === undefined || sp.phase !== "accept" || !ballotEquals(msg.n, ls.n)) return;
  let p = ls.progress.get(msg.from);
  if (p === undefined) {
    // Synced in our ballot but we dropped its progress (e.g. after a PrepareReq that crossed our
    // AcceptSync): an Accepted of our ballot means its log is a prefix of ours up to acceptedIdx.
    const at = Math.min(msg.acceptedIdx, sp.acceptedIdx);
    p = { acked: true, acceptedIdx: at, nextIdx: at, acceptedIdxAtLastResend: at, decidedIdxSent: 0 };
    ls.progress.set(msg.from, p);
  }
  p.acked = true;
  if (msg.acceptedIdx > p.acceptedIdx) p.acceptedIdx = Math.min(msg.acceptedIdx, sp.acceptedIdx);
  if (p.nextIdx < p.acceptedIdx) p.nextIdx = p.acceptedIdx;
  updateDecided(sp);
  // A follower acknowledged after the decided index last moved missed that round of Decides (they go to
  // acknowledged followers only): send it one now rather than at the next batch or resend timeout.
  if (p.decidedIdxSent < sp.decidedIdx && p.acceptedIdx > p.decidedIdxSent) ls.decidePending = true;
  // Catching up (after a capped AcceptSync or a resend): stream the next chunk at once.
  if (sp.leader === ls && p.acceptedIdx === p.nextIdx && p.nextIdx < sp.acceptedIdx) sendFrom(sp, msg.from, p);
}

/** Sends slots [p.acceptedIdx, ...) again (capped), or resyncs if they were compacted. */
function sendFrom<T, S>(sp: SequencePaxos<T, S>, to: number, p: FollowerProgress): void {
  const ls = sp.leader!;
  const from = p.acceptedIdx;
  if (from < sp.compactedIdx) {
    // Behind our compaction: ship the snapshot and what follows (it extends the follower's log).
    const sync = buildSync(sp, from, sp.acceptedIdx, true);
    if (sync === undefined) return; // trimmed without a snapshot: cannot be synced
    sp.send({ kind: "AcceptSync", from: sp.pid, to, configurationId: sp.config.configurationId, n: ls.n, sync, decidedIdx: sp.decidedIdx });
    p.nextIdx = syncEnd(sync);
    p.decidedIdxSent = sp.decidedIdx;
    return;
  }
  const end = Math.min(sp.acceptedIdx, from + limits.syncEntriesMax);
  const entries = sp.storage.getEntries(from, end);
  sp.send({ kind: "AcceptDecide", from: sp.pid, to, configurationId: sp.config.configurationId, n: ls.n, startIdx: from, entries, decidedIdx: sp.decidedIdx });
  p.nextIdx = end;
  p.decidedIdxSent = sp.decidedIdx;
}

export function handlePrepareReq<T, S>(sp: SequencePaxos<T, S>, msg: PrepareReq): void {
  if (sp.role !== "leader" || sp.leader === undefined) return;
  sp.leader.progress.delete(msg.from);
  sendPrepare(sp, msg.from);
}

/** Resend timeout at the leader: Prepare to silent nodes, AcceptDecide to stalled followers. */
export function leaderResend<T, S>(sp: SequencePaxos<T, S>): void {
  const ls = sp.leader!;
  for (const to of sp.peers) {
    const p = ls.progress.get(to);
    if (sp.phase === "prepare") {
      if (!ls.promises.has(to)) sendPrepare(sp, to);
      continue;
    }
    if (p === undefined || !p.acked) {
      sendPrepare(sp, to);
      continue;
    }
    if (p.acceptedIdx < sp.acceptedIdx && p.acceptedIdx === p.acceptedIdxAtLastResend) sendFrom(sp, to, p);
    else if (p.acceptedIdx === sp.acceptedIdx) {
      sp.send({ kind: "Decide", from: sp.pid, to, configurationId: sp.config.configurationId, n: ls.n, decidedIdx: sp.decidedIdx });
      p.decidedIdxSent = sp.decidedIdx;
    }
    p.acceptedIdxAtLastResend = p.acceptedIdx;
  }
}

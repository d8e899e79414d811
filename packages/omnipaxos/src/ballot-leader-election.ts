// Ballot Leader Election (OmniPaxos paper §4): heartbeat rounds driven by ticks; a node is
// quorum-connected when it heard a quorum in its last round, and only quorum-connected (and
// ready) nodes are candidates. Each node follows the highest candidate ballot it can see, and
// bumps its own ballot above a leader that neither it nor a quorum-connected peer still hears,
// so partial connectivity cannot livelock. Unlike the paper's rule (always follow the highest
// candidate), a live leader is kept: leadership moves when the leader fails, not when a higher ballot
// shows up, and a slow reply still counts as a sign of life.
import { BALLOT_ZERO, compareBallots, type Ballot } from "./ballot.ts";
import type { HeartbeatReply, HeartbeatRequest } from "./messages.ts";
import type { Outbox } from "./outbox.ts";
import { quorumSize } from "./quorum.ts";

interface Reply {
  ballot: Ballot;
  candidate: boolean;
  /** The replier is a candidate that follows itself: it leads, or is about to (not merely ready to). */
  leading: boolean;
  /** The replier is quorum-connected and heard `leader` as a candidate in its last round. */
  vouchesFor: Ballot | undefined;
  /** The replier is stepping down. */
  retiring: boolean;
}

export class BallotLeaderElection {
  /** This node's ballot. Invariant: ballot.pid === pid, ballot.configurationId === configurationId. */
  ballot: Ballot;
  /** The leader this node follows (BALLOT_ZERO: none). */
  leader: Ballot = BALLOT_ZERO;
  quorumConnected = false;
  private round = 0;
  private ticksInRound = 0;
  private replies = new Map<number, Reply>();
  /** Peers whose reply to the previous round arrived during this one (slow, not gone: they count toward
   *  quorum connectivity, so a loaded cluster's leader does not step down for one late round). */
  private lateRepliers = new Set<number>();
  /** Consecutive rounds in which the leader we follow did not answer as a candidate. */
  private leaderMissedRounds = 0;
  /** In the last round the leader itself answered us as a candidate (what we vouch for: only
   *  first-hand knowledge, so that two nodes cannot keep a dead leader alive for each other). */
  private leaderHeardDirectly = false;
  /** We led through a round without hearing a quorum: settleStepDown decides at the next tick. */
  private stepDownPending = false;
  /** The round in which we began to follow the current leader (see follow()). */
  private leaderSinceRound = 0;
  /** The leader's reply to the previous round came late, during this one: it is slow, not gone. */
  private leaderAnsweredLate = false;
  private readonly quorum: number;

  constructor(
    private readonly pid: number,
    private readonly configurationId: number,
    private readonly peers: readonly number[],
    priority: number,
    initialN: number,
    private readonly electionTickTimeout: number,
    private readonly out: Outbox<unknown, unknown>,
    /** Whether this node may lead (holds the prefix its configuration starts from, and is not stepping down). */
    private readonly isReady: () => boolean,
    /** Whether this node is stepping down (it is then not ready either). */
    private readonly isRetiring: () => boolean = () => false,
  ) {
    this.quorum = quorumSize(peers.length + 1);
    this.ballot = { configurationId, n: initialN, priority, pid };
  }

  /** Advances time; returns true when a round ended or a step-down took effect (the leader may have changed). */
  tick(): boolean {
    this.ticksInRound++;
    const steppedDown = this.stepDownPending && this.settleStepDown();
    if (this.ticksInRound < this.electionTickTimeout) return steppedDown;
    this.ticksInRound = 0;
    this.endRound();
    this.startRound();
    return true;
  }

  startRound(): void {
    this.round++;
    this.replies.clear();
    this.lateRepliers.clear();
    this.leaderAnsweredLate = false;
    for (const to of this.peers) {
      this.out.push({ kind: "HeartbeatRequest", from: this.pid, to, configurationId: this.configurationId, round: this.round });
    }
  }

  handleHeartbeatRequest(msg: HeartbeatRequest): void {
    this.out.push({
      kind: "HeartbeatReply", from: this.pid, to: msg.from, configurationId: this.configurationId,
      round: msg.round, ballot: this.ballot, quorumConnected: this.quorumConnected, ready: this.isReady(),
      leader: this.leader, leaderAlive: this.leaderHeardDirectly, retiring: this.isRetiring(),
    });
  }

  handleHeartbeatReply(msg: HeartbeatReply): void {
    if (msg.round !== this.round) {
      if (msg.round === this.round - 1) this.lateRepliers.add(msg.from);
      // A busy leader (a long fsync, a stalled event loop) answers after the round it was asked in ended.
      // That reply still proves it alive: a node must not be deposed for being slow, only for being gone.
      if (msg.round === this.round - 1 && msg.from === this.leader.pid && msg.quorumConnected && msg.ready && msg.leader.pid === msg.from && msg.retiring !== true) {
        this.leaderAnsweredLate = true;
      }
      return;
    }
    this.replies.set(msg.from, {
      ballot: msg.ballot,
      candidate: msg.quorumConnected && msg.ready,
      leading: msg.quorumConnected && msg.ready && msg.leader.pid === msg.from,
      vouchesFor: msg.quorumConnected && msg.leaderAlive ? msg.leader : undefined,
      retiring: msg.retiring === true,
    });
    // Connectivity is reported as soon as it is known: a freshly healed leader must not look
    // disconnected to its followers for a whole extra round.
    if (this.replies.size + 1 >= this.quorum) this.quorumConnected = true;
  }

  /** A Sequence Paxos promise outranks the leader we follow: follow it (it got a quorum of promises).
   *  Our own ballot is never taken back this way: a leader that stepped down for want of a quorum is a
   *  candidate again only through a round that hears one. */
  observePromise(promise: Ballot): void {
    if (promise.pid === this.pid) return;
    if (promise.configurationId === this.configurationId && compareBallots(promise, this.leader) > 0) this.follow(promise);
  }

  /**
   * Leads this (new) configuration from its start: called on the node that led the previous one and decided
   * its StopSign, right after this instance was made. Otherwise every member begins the configuration
   * following no one, and the first election, a whole round later, goes to the highest ballot among the
   * ready members (all at n = 0: the highest pid), so a membership change moved leadership and paused
   * writes for a round. The ballot is left as it is (n = 0): a raised one would outlive a step-down as a
   * stale higher promise that deposes whoever the others elect next (sim seed 155: two leaders duelled for
   * 25 ticks after a heal). The members follow this node as soon as its Prepare reaches them
   * (observePromise) or their first round hears it lead (liveLeader), and sticky leadership keeps it; a
   * higher ballot elected meanwhile still wins through its Prepare, as ever. quorumConnected: it held a
   * quorum in the previous configuration a moment ago; its first round's replies confirm it, or the usual
   * step-down follows.
   */
  assumeLeadership(): void {
    this.quorumConnected = true;
    this.follow(this.ballot);
  }

  /** Make our ballot outrank `b` (used when we were elected with a ballot Sequence Paxos already passed). */
  bumpAbove(b: Ballot): void {
    if (compareBallots(this.ballot, b) <= 0) this.ballot = { ...this.ballot, n: b.n + 1 };
    if (this.leader.pid === this.pid) this.leader = this.ballot;
  }

  private endRound(): void {
    this.quorumConnected = this.heardCount() + 1 >= this.quorum;
    if (!this.quorumConnected) {
      // A leader that did not hear a quorum for a whole round stops leading (its Sequence Paxos role
      // follows: OmniPaxos.checkLeader), so that its clients fail over at once instead of waiting for
      // the partition to heal; settleStepDown decides one tick later. A follower cannot judge: it keeps
      // following the old leader.
      if (this.leader.pid === this.pid) {
        this.stepDownPending = true;
        this.quorumConnected = true; // still, for the grace tick: followers must not depose it on our word
      }
      return;
    }
    let top = this.topCandidate();
    this.leaderHeardDirectly = this.leader.pid !== this.pid && this.replies.get(this.leader.pid)?.leading === true;
    // The round in which we began to follow a leader proves nothing against it: its replies may have
    // left their senders before that leader was elected (rounds are not aligned across nodes), so they
    // cannot say "leading" yet. Counting it as missed let a ready node with a higher ballot take over
    // right after an election (seen in CI: leader 2 elected, node 1 with priority 1 took over ~10 ms later).
    const firstRound = this.leaderSinceRound === this.round && this.leader.pid !== this.pid;
    this.leaderMissedRounds = this.leaderAlive() || firstRound ? 0 : this.leaderMissedRounds + 1;
    // A leader that says it is stepping down is not waited for: that is the point of a handover. Nor is
    // one that answered this round, asked after we began to follow it, that it cannot lead (it heard no
    // quorum in its last round, so it stepped down too): that is first-hand, not a lost message.
    const said = this.leader.pid !== this.pid ? this.replies.get(this.leader.pid) : undefined;
    if (said?.retiring === true || (said !== undefined && !said.candidate && this.leaderSinceRound < this.round)) this.leaderMissedRounds = 2;
    // Two rounds in a row, so that one unlucky round (a reply lost, a stale flag) does not depose a healthy leader.
    if (compareBallots(this.leader, BALLOT_ZERO) > 0 && compareBallots(top, this.leader) < 0 && this.leaderMissedRounds >= 2) {
      // The leader we follow is gone or no longer quorum-connected: outrank it and re-elect.
      if (compareBallots(this.ballot, this.leader) <= 0) this.ballot = { ...this.ballot, n: this.leader.n + 1 };
      this.leader = BALLOT_ZERO;
      top = this.topCandidate();
    }
    // Sticky leadership: a higher candidate (a member that just became ready, a node that bumped its ballot
    // while cut off) does not depose a leader that is still alive. Leadership moves only when the leader
    // fails, so a healthy cluster never changes leader; a higher ballot that does get elected elsewhere
    // still wins here through its Prepare (observePromise).
    // It holds until it has missed two rounds in a row, the same bar as for deposing it: one late reply (a
    // busy leader, a reply still in flight when our round ended) must not let a higher ballot take over
    // (bench:join: n3 elected in a new configuration, n1 with priority 1 took over 280 ms later).
    const leaderHolds = compareBallots(this.leader, BALLOT_ZERO) > 0 && this.leaderMissedRounds < 2;
    if (leaderHolds) return;
    // Following no one (a member new to this configuration, or one whose leader just failed) while a
    // quorum-connected peer reports that it leads: join that leader rather than run an election of our
    // own that only a higher ballot would win. Ballots decide only when there is no live leader.
    const live = compareBallots(this.leader, BALLOT_ZERO) === 0 ? this.liveLeader() : undefined;
    const next = live ?? top;
    if (compareBallots(next, this.leader) > 0) this.follow(next);
  }

  /** The highest ballot among this round's replies from a node that leads (a candidate that follows
   *  itself and is not retiring), if any. */
  private liveLeader(): Ballot | undefined {
    let best: Ballot | undefined;
    for (const r of this.replies.values()) {
      if (r.leading && !r.retiring && (best === undefined || compareBallots(r.ballot, best) > 0)) best = r.ballot;
    }
    return best;
  }

  /** Follows `b` from now on. The missed-round count is the new leader's own: rounds a previous leader
   *  missed must not count against one just elected (whose first replies may predate its election). */
  private follow(b: Ballot): void {
    if (b.pid !== this.leader.pid) {
      this.leaderMissedRounds = 0;
      this.leaderSinceRound = this.round;
    }
    this.leader = b;
  }

  /** The leader we follow answered this round as a candidate that still follows itself (a node others
   *  follow but that follows someone else, e.g. after a restart or a step-down for want of a quorum, is
   *  not leading: waiting for it would deadlock). Its reply may carry a ballot below the one it leads with
   *  (the reply left before it was elected), so match by pid, not by ballot. */
  private leaderAlive(): boolean {
    if (this.leader.pid === this.pid) return this.isReady();
    if (this.replies.get(this.leader.pid)?.leading === true || this.leaderAnsweredLate) return true;
    // Out of our reach, but a quorum-connected node hears it as a candidate: it still leads.
    for (const r of this.replies.values()) {
      if (r.vouchesFor !== undefined && r.vouchesFor.pid === this.leader.pid && compareBallots(r.vouchesFor, this.leader) >= 0) return true;
    }
    return false;
  }

  /**
   * One tick after a round in which we led without hearing a quorum: replies to that round that arrive
   * now still count (after a stalled event loop, e.g. several nodes in one process, the round can end
   * before its replies are read). Step down only if they do not bring a quorum either.
   */
  private settleStepDown(): boolean {
    this.stepDownPending = false;
    if (this.leader.pid !== this.pid || this.heardCount() + 1 >= this.quorum) return false;
    this.quorumConnected = false;
    this.leader = BALLOT_ZERO;
    return true;
  }

  /** Peers heard this round: replies to it, and late replies to the previous one. */
  private heardCount(): number {
    let n = this.replies.size;
    for (const p of this.lateRepliers) if (!this.replies.has(p)) n++;
    return n;
  }

  private topCandidate(): Ballot {
    let top = this.isReady() ? this.ballot : BALLOT_ZERO;
    for (const r of this.replies.values()) {
      if (r.candidate && compareBallots(r.ballot, top) > 0) top = r.ballot;
    }
    return top;
  }
}

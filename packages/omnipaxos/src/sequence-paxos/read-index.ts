// Read index: the leader confirms it still leads with one quorum round (no log entry) and many
// reads share a round. A read is ready when its round is confirmed and decidedIdx has reached
// the leader's acceptedIdx at request time, so it observes every write decided before it began.
import { ballotEquals } from "../ballot.ts";
import type { ReadyRead } from "../errors.ts";
import type { ReadQuorumReply, ReadQuorumRequest } from "../messages.ts";
import type { SequencePaxos } from "./sequence-paxos.ts";

interface Round {
  round: number;
  reads: ReadyRead[];
  acks: Set<number>;
}

export class ReadIndex<T, S> {
  private waiting: ReadyRead[] = [];
  private inFlight: Round | undefined;
  /** Confirmed reads waiting for decidedIdx >= idx, in idx order. */
  private confirmed: ReadyRead[] = [];
  private ready: ReadyRead[] = [];
  private failed: number[] = [];
  private round = 0;

  constructor(private readonly sp: SequencePaxos<T, S>) {}

  pendingCount(): number {
    return this.waiting.length + (this.inFlight?.reads.length ?? 0) + this.confirmed.length;
  }

  request(token: number): void {
    if (!this.sp.isLeaderInAccept()) {
      this.failed.push(token);
      return;
    }
    this.waiting.push({ token, idx: this.sp.acceptedIdx });
  }

  /** Starts a round for the waiting reads if none is in flight (called on flush). */
  flush(): void {
    if (this.inFlight !== undefined || this.waiting.length === 0) return;
    if (!this.sp.isLeaderInAccept()) return this.failAll();
    this.inFlight = { round: ++this.round, reads: this.waiting, acks: new Set([this.sp.pid]) };
    this.waiting = [];
    this.sendRequests();
    this.maybeConfirm();
  }

  resend(): void {
    if (this.inFlight !== undefined) this.sendRequests();
  }

  private sendRequests(): void {
    const r = this.inFlight!;
    const n = this.sp.leader!.n;
    for (const to of this.sp.peers) {
      if (!r.acks.has(to)) this.sp.send({ kind: "ReadQuorumRequest", from: this.sp.pid, to, configurationId: this.sp.config.configurationId, n, round: r.round });
    }
  }

  /** Follower side: acknowledge only the ballot we are still promised to. */
  handleRequest(msg: ReadQuorumRequest): void {
    if (!ballotEquals(msg.n, this.sp.promise)) return;
    this.sp.send({ kind: "ReadQuorumReply", from: this.sp.pid, to: msg.from, configurationId: this.sp.config.configurationId, n: msg.n, round: msg.round });
  }

  handleReply(msg: ReadQuorumReply): void {
    const r = this.inFlight;
    if (r === undefined || r.round !== msg.round || !this.sp.isLeaderInAccept() || !ballotEquals(msg.n, this.sp.leader!.n)) return;
    r.acks.add(msg.from);
    this.maybeConfirm();
  }

  private maybeConfirm(): void {
    const r = this.inFlight!;
    if (r.acks.size < this.sp.quorum) return;
    this.inFlight = undefined;
    for (const read of r.reads) this.confirmed.push(read);
    this.onDecided();
    this.flush();
  }

  onDecided(): void {
    const d = this.sp.decidedIdx;
    let k = 0;
    while (k < this.confirmed.length && this.confirmed[k]!.idx <= d) this.ready.push(this.confirmed[k++]!);
    if (k > 0) this.confirmed.splice(0, k);
  }

  /** Leadership lost (or the configuration ended): every read not yet ready fails. */
  failAll(): void {
    for (const r of this.waiting) this.failed.push(r.token);
    for (const r of this.inFlight?.reads ?? []) this.failed.push(r.token);
    for (const r of this.confirmed) this.failed.push(r.token);
    this.waiting = [];
    this.inFlight = undefined;
    this.confirmed = [];
  }

  takeReady(): ReadyRead[] {
    const r = this.ready;
    this.ready = [];
    return r;
  }

  takeFailed(): number[] {
    const f = this.failed;
    this.failed = [];
    return f;
  }
}

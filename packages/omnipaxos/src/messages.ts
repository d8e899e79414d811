// Every message the core exchanges. Plain structured-clone-able objects (no classes, no
// functions); each has numeric `from`/`to` and the sender's `configurationId`.
import type { Ballot } from "./ballot.ts";
import type { ClusterConfig } from "./config.ts";
import type { StoredEntry } from "./log-entry.ts";

interface Envelope {
  from: number;
  to: number;
  /** Configuration the sender is in. A receiver in another configuration answers with catch-up. */
  configurationId: number;
}

/** A slice of log state shipped for synchronisation. If `snapshot` is set it replaces slots
 *  [0, snapshot.compactedIdx) and `entries` start at snapshot.compactedIdx; otherwise `entries`
 *  start at `fromIdx`. */
export interface SyncPayload<T, S> {
  fromIdx: number;
  snapshot?: { compactedIdx: number; snapshot: S };
  entries: StoredEntry<T>[];
}

// ---- Ballot Leader Election ----
export interface HeartbeatRequest extends Envelope { kind: "HeartbeatRequest"; round: number }
export interface HeartbeatReply extends Envelope {
  kind: "HeartbeatReply";
  round: number;
  ballot: Ballot;
  /** The replier heard from a quorum (itself included) in its last round. */
  quorumConnected: boolean;
  /** The replier holds the whole decided prefix its configuration starts from, so it may lead. */
  ready: boolean;
  /** The leader the replier follows, and whether it heard that leader as a candidate in its last
   *  round. A quorum-connected replier vouching for our leader keeps it alive for us although we
   *  cannot hear it ourselves (the chained case: no livelock). */
  leader: Ballot;
  leaderAlive: boolean;
  /** The replier is stepping down (stepDown()): a follower of it re-elects at once instead of
   *  waiting for missed rounds. Optional so that a node without it reads as "not retiring". */
  retiring?: boolean;
}

// ---- Sequence Paxos ----
/** A (recovering) follower asks the leader to send it a Prepare. */
export interface PrepareReq extends Envelope { kind: "PrepareReq" }
export interface Prepare extends Envelope {
  kind: "Prepare";
  n: Ballot;
  decidedIdx: number;
  acceptedRound: Ballot;
  acceptedIdx: number;
}
export interface PromiseMessage<T, S> extends Envelope {
  kind: "Promise";
  n: Ballot;
  acceptedRound: Ballot;
  acceptedIdx: number;
  decidedIdx: number;
  /** The follower's log from the leader's decidedIdx, sent only when the follower is more up to date. */
  sync?: SyncPayload<T, S>;
}
export interface AcceptSync<T, S> extends Envelope {
  kind: "AcceptSync";
  n: Ballot;
  /** The follower's log becomes: its prefix [0, sync start) + sync. */
  sync: SyncPayload<T, S>;
  decidedIdx: number;
}
export interface AcceptDecide<T> extends Envelope {
  kind: "AcceptDecide";
  n: Ballot;
  /** Slot of entries[0]. A follower appends only if startIdx <= its acceptedIdx (gaps are resent). */
  startIdx: number;
  entries: StoredEntry<T>[];
  decidedIdx: number;
}
export interface Accepted extends Envelope { kind: "Accepted"; n: Ballot; acceptedIdx: number }
export interface Decide extends Envelope { kind: "Decide"; n: Ballot; decidedIdx: number }
/** "I promised a higher ballot than the one you used": a stale leader learns it is deposed even
 *  when the new leader is out of its reach (then its Ballot Leader Election outranks it). */
export interface NotAccepted extends Envelope { kind: "NotAccepted"; n: Ballot }
/** Leader -> followers: compact up to idx (min with the follower's own decidedIdx). */
export interface Compaction extends Envelope { kind: "Compaction"; n: Ballot; op: "trim" | "snapshot"; idx: number }

// ---- Proposal forwarding (retried until decided or reported dropped) ----
export interface ProposalForward<T> extends Envelope {
  kind: "ProposalForward";
  /** The leader's ballot this forwarding session belongs to. */
  n: Ballot;
  /** The forwarder's incarnation (ConfigurationRecord.incarnation): a restart starts a new session. */
  incarnation: number;
  /** Sequence number of entries[0] within the session (resends reuse it; the leader de-duplicates). */
  seq: number;
  /** Every entry below this seq has been acknowledged (the leader may forget those acks). */
  ackedSeq: number;
  /** Application entries and/or a StopSign (reconfigure at a follower). */
  entries: StoredEntry<T>[];
  /** Set when re-forwarding entries whose previous leader may have placed them: the leader
   *  (once a quorum accepted its ballot) first looks for each entry's id in slots >= this. */
  dedupeFromIdx?: number;
}
/** The leader placed the forwarded entries [seq, seq+count) at slots [idx, idx+count) in ballot n,
 *  or, if `rejected`, refused them: "reconfigured" (a StopSign is in its log) or "unverifiable"
 *  (a re-forwarded entry whose possible slots were compacted: it may or may not be decided). */
export interface ProposalAck extends Envelope {
  kind: "ProposalAck";
  n: Ballot;
  seq: number;
  count: number;
  idx: number;
  rejected?: "reconfigured" | "unverifiable";
}

// ---- Read index ----
export interface ReadQuorumRequest extends Envelope { kind: "ReadQuorumRequest"; n: Ballot; round: number }
export interface ReadQuorumReply extends Envelope { kind: "ReadQuorumReply"; n: Ballot; round: number }

// ---- Catch-up across configurations ----
/** "Your configuration has ended (the sender is in a later one, or decided its StopSign)": the
 *  receiver should send a CatchUpRequest. */
export interface ConfigurationEnded extends Envelope { kind: "ConfigurationEnded" }
export interface CatchUpRequest extends Envelope { kind: "CatchUpRequest"; decidedIdx: number }
/** Decided log from the requester's decidedIdx (capped; the requester asks again until done). */
export interface CatchUp<T, S> extends Envelope {
  kind: "CatchUp";
  sync: SyncPayload<T, S>;
  /** The sender's decided index; sync covers up to it unless capped. */
  decidedIdx: number;
  /** The sender's current configuration (a later one than the requester's). */
  configuration: ClusterConfig;
  metadata?: Uint8Array;
}

export type Message<T, S = unknown> =
  | HeartbeatRequest
  | HeartbeatReply
  | PrepareReq
  | Prepare
  | PromiseMessage<T, S>
  | AcceptSync<T, S>
  | AcceptDecide<T>
  | Accepted
  | Decide
  | NotAccepted
  | Compaction
  | ProposalForward<T>
  | ProposalAck
  | ReadQuorumRequest
  | ReadQuorumReply
  | ConfigurationEnded
  | CatchUpRequest
  | CatchUp<T, S>;

export type MessageKind = Message<unknown>["kind"];

// The public OmniPaxos node: a pure, deterministic, sans-IO state machine (Ballot Leader
// Election + Sequence Paxos). The application drives it: inputs in, persist, send, apply.
import type { Ballot } from "./ballot.ts";
import type { ClusterConfig, OmniPaxosConfig } from "./config.ts";
import type { DroppedProposal, ReadyRead } from "./errors.ts";
import type { LogEntry, StopSign } from "./log-entry.ts";
import type { Message } from "./messages.ts";
import type { SnapshotSpec } from "./snapshot.ts";
import type { Storage } from "./storage.ts";

export interface OmniPaxosOptions<T, S> {
  /** Needed for snapshot(), and to sync nodes that are behind a compacted prefix. */
  snapshot?: SnapshotSpec<T, S>;
  /**
   * A unique, stable id per appended entry (e.g. the client request id). With it, proposals
   * whose leader changed before they were decided are re-proposed exactly once (the new leader
   * de-duplicates by id); without it they are reported via takeDroppedProposals().
   */
  entryId?: (entry: T) => string | number;
}

/** For status pages and metrics. */
export interface OmniPaxosStatus {
  pid: number;
  configurationId: number;
  leader: number | undefined;
  ballot: Ballot;
  promise: Ballot;
  role: "leader" | "follower";
  phase: "prepare" | "accept" | "recover" | "none";
  quorumConnected: boolean;
  acceptedIdx: number;
  decidedIdx: number;
  compactedIdx: number;
  pendingProposalCount: number;
}

export class OmniPaxos<T, S = never> {
  constructor(config: OmniPaxosConfig, storage: Storage<T, S>, options: OmniPaxosOptions<T, S> = {}) {
    void config; void storage; void options;
    throw new Error("not yet");
  }
  append(entry: T): void { void entry; throw new Error("not yet"); }
  reconfigure(nextConfig: ClusterConfig, metadata?: Uint8Array): void { void nextConfig; void metadata; throw new Error("not yet"); }
  tick(): void { throw new Error("not yet"); }
  handleIncoming(msg: Message<T, S>): void { void msg; throw new Error("not yet"); }
  takeOutgoingMessages(): Message<T, S>[] { throw new Error("not yet"); }
  getCurrentLeader(): number | undefined { throw new Error("not yet"); }
  getCurrentBallot(): Ballot { throw new Error("not yet"); }
  getPromise(): Ballot { throw new Error("not yet"); }
  getDecidedIdx(): number { throw new Error("not yet"); }
  getAcceptedIdx(): number { throw new Error("not yet"); }
  getCompactedIdx(): number { throw new Error("not yet"); }
  getConfiguration(): ClusterConfig { throw new Error("not yet"); }
  getStatus(): OmniPaxosStatus { throw new Error("not yet"); }
  read(idx: number): LogEntry<T, S> | undefined { void idx; throw new Error("not yet"); }
  readDecidedSuffix(fromIdx: number): LogEntry<T, S>[] | undefined { void fromIdx; throw new Error("not yet"); }
  readEntries(fromIdx: number, toIdx: number): LogEntry<T, S>[] | undefined { void fromIdx; void toIdx; throw new Error("not yet"); }
  trim(idx?: number): void { void idx; throw new Error("not yet"); }
  snapshot(idx?: number, localOnly?: boolean): void { void idx; void localOnly; throw new Error("not yet"); }
  isReconfigured(): StopSign | undefined { throw new Error("not yet"); }
  isRemoved(): boolean { throw new Error("not yet"); }
  readIndex(token: number): void { void token; throw new Error("not yet"); }
  takeReadyReads(): ReadyRead[] { throw new Error("not yet"); }
  takeFailedReads(): number[] { throw new Error("not yet"); }
  takeDroppedProposals(): DroppedProposal<T>[] { throw new Error("not yet"); }
}

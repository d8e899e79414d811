// The plain status of a node, as the embedding API returns it (ClusterService.Status renders it as proto).

import type { TransferProgress } from "./state-transfer.ts";

export type NodeLifecycleState = "unprovisioned" | "joining" | "active" | "removed";

export interface MemberInfo {
  nodeId: number;
  name: string;
  /** Base URL, e.g. http://127.0.0.1:7001. */
  address: string;
  storageId: string;
}

export interface ConfigurationInfo {
  configurationId: number;
  members: MemberInfo[];
  /** The log index of the StopSign that started this configuration (0 for configuration 1). */
  startIdx: number;
}

export interface BallotInfo {
  n: number;
  priority: number;
  pid: number;
}

export interface NodeStatus {
  /** 0 until the node is provisioned or has joined. */
  nodeId: number;
  name: string;
  address: string;
  state: NodeLifecycleState;
  /** Why the node is in this state when it is not plainly active (e.g. a refused rejoin). */
  stateDetail: string;
  clusterId: string;
  storageId: string;
  configuration: ConfigurationInfo | undefined;
  /** 0 when no leader is known. */
  leaderId: number;
  leaderAddress: string;
  isLeader: boolean;
  ballot: BallotInfo | undefined;
  decidedIdx: number;
  appliedIdx: number;
  compactedIdx: number;
  acceptedIdx: number;
  /** The snapshot this node is receiving from a peer, while it does (a join, or a catch-up behind the trimmed log). */
  transfer?: TransferProgress | undefined;
}

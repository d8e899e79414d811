// The system under test as bench:etcd sees it: a 3-node cluster with client endpoints, server
// processes to measure and kill, and the three calls the cases make (put, linearizable get, status).
// etcd-cluster.ts and omnimeta-cluster.ts implement it on the same UnaryClient.

export type SystemName = "etcd" | "omnimeta";

/** What one node says about leadership. `term` orders leaders (etcd raft term, omnimeta ballot n). */
export interface NodeStatus {
  endpoint: string;
  isLeader: boolean;
  /** The endpoint of the leader this node knows, if any. */
  leaderEndpoint: string | undefined;
  term: string;
}

export interface KvTarget {
  readonly system: SystemName;
  readonly version: string;
  /** Client endpoints, host:port, one per node. */
  readonly endpoints: readonly string[];
  /** The server process id of each endpoint (undefined once killed). */
  pidOf(endpoint: string): number | undefined;
  /** A write of `value` at `key`; `requestId` is the same for every retry of one logical put. */
  put(endpoint: string, key: string, value: Buffer, requestId: string, timeoutMs: number): Promise<void>;
  /** A linearizable read of `key`. */
  get(endpoint: string, key: string, timeoutMs: number): Promise<void>;
  status(endpoint: string, timeoutMs: number): Promise<NodeStatus>;
  /** SIGKILL of the node at `endpoint`; resolves once the process is gone. */
  kill(endpoint: string): Promise<void>;
  /** Kills every node, closes clients and removes the data dirs (unless keepData). */
  close(options?: { keepData?: boolean }): Promise<void>;
}

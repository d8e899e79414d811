// The identity of a data dir: a random storage id made once, the node name it belongs to and,
// once known, its cluster id and node id. A data dir is never reused by another node or cluster.

import { randomUUID } from "node:crypto";
import type { StagedState } from "./staged-state.ts";
import { decodeNumber, decodeString, encodeNumber, encodeString } from "./staged-state.ts";

const STORAGE_ID = "storage_id";
const NODE_NAME = "node_name";
const CLUSTER_ID = "cluster_id";
const NODE_ID = "node_id";

/** The data dir belongs to another node or cluster; metad must refuse to start. */
export class DataDirMismatchError extends Error {
  override name = "DataDirMismatchError";
}

export interface StoreIdentity {
  /** Random id of this incarnation of the data dir (a lost disk comes back with a new one). */
  storageId: string;
  name: string;
  /** Set once the node provisions or joins a cluster. */
  clusterId: string | undefined;
  /** Set once the node is assigned an id (0 = not yet). */
  nodeId: number;
}

/** Reads the identity, creating a storage id on a fresh data dir; refuses a foreign data dir. */
export function loadIdentity(state: StagedState, dataDir: string, name: string, expectedClusterId: string | undefined): StoreIdentity {
  let storageId = decodeString(state.get(STORAGE_ID));
  const ownerName = decodeString(state.get(NODE_NAME));
  const clusterId = decodeString(state.get(CLUSTER_ID));
  if (ownerName !== undefined && ownerName !== name) {
    throw new DataDirMismatchError(
      `data dir ${dataDir} belongs to node "${ownerName}"${clusterId ? ` of cluster ${clusterId}` : ""}, not "${name}"; use that node's name or another data dir`,
    );
  }
  if (expectedClusterId !== undefined && clusterId !== undefined && clusterId !== expectedClusterId) {
    throw new DataDirMismatchError(`data dir ${dataDir} belongs to cluster ${clusterId}, not ${expectedClusterId}; use another data dir`);
  }
  if (storageId === undefined) {
    storageId = randomUUID();
    state.set(STORAGE_ID, encodeString(storageId));
    state.set(NODE_NAME, encodeString(name));
  }
  return { storageId, name, clusterId, nodeId: decodeNumber(state.get(NODE_ID), 0) };
}

export function stageClusterId(state: StagedState, clusterId: string): void {
  state.set(CLUSTER_ID, encodeString(clusterId));
}

export function stageNodeId(state: StagedState, nodeId: number): void {
  state.set(NODE_ID, encodeNumber(nodeId));
}

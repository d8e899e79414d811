// startNode: wires storage, the OmniPaxos core, the peer transport and the RPC server into one running node.

import type { NodeOptions } from "../config.ts";
import type { NodeStatus } from "./node-status.ts";

/** A running node. */
export interface MetaNode {
  /** The advertised base URL (http://host:port), known once the listener is bound. */
  readonly address: string;
  readonly name: string;
  /** 0 until the node is provisioned or has joined a cluster. */
  readonly nodeId: number;
  status(): NodeStatus;
  /** Creates configuration 1 with this node alone (ClusterService.Provision). */
  provision(): Promise<{ alreadyProvisioned: boolean; clusterId: string }>;
  /** Resolves when status().state becomes `state` (e.g. "active" after a join). */
  waitForState(state: NodeStatus["state"], timeoutMs?: number): Promise<void>;
  /** Hands leadership over when it can, stops serving, closes the listener and the database. */
  close(): Promise<void>;
}

export async function startNode(options: NodeOptions): Promise<MetaNode> {
  void options;
  throw new Error("startNode: under construction");
}

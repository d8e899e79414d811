// Network topologies, including the three partial-connectivity cases of the OmniPaxos paper (EuroSys 2023, Fig. 1).
// Each returns the undirected links to keep; every other link among `nodes` is cut.

export type Link = readonly [number, number];

export type PartialConnectivityCase = "quorum-loss" | "constrained-election" | "chained";

export const PARTIAL_CONNECTIVITY_CASES: readonly PartialConnectivityCase[] = ["quorum-loss", "constrained-election", "chained"];

/** Every pair. */
export function fullMesh(nodes: readonly number[]): Link[] {
  const out: Link[] = [];
  for (let i = 0; i < nodes.length; i++) for (let j = i + 1; j < nodes.length; j++) out.push([nodes[i], nodes[j]]);
  return out;
}

/**
 * Quorum-loss: only `hub` is connected to everyone; all other links are down, so `hub` is the only
 * quorum-connected node. The old leader (not the hub) still reaches the hub, so it does not notice.
 */
export function quorumLoss(nodes: readonly number[], hub: number): Link[] {
  return nodes.filter((p) => p !== hub).map((p): Link => [hub, p]);
}

/**
 * Constrained election: `isolated` (the old leader) is cut from everyone, and `hub` is the only node
 * connected to a quorum. The hub is meant to have an outdated log (the scenario makes it lag first).
 */
export function constrainedElection(nodes: readonly number[], hub: number, isolated: number): Link[] {
  return nodes.filter((p) => p !== hub && p !== isolated).map((p): Link => [hub, p]);
}

/**
 * Chained: a full mesh minus the single link between `a` (the leader) and `b`. Everybody stays
 * quorum-connected; with three nodes this is the paper's chain a - c - b.
 */
export function chained(nodes: readonly number[], a: number, b: number): Link[] {
  return fullMesh(nodes).filter(([x, y]) => !((x === a && y === b) || (x === b && y === a)));
}

/** The quorum-connected nodes of a topology: those that reach a majority of `nodes` (counting themselves). */
export function quorumConnected(nodes: readonly number[], isConnected: (a: number, b: number) => boolean): number[] {
  const majority = Math.floor(nodes.length / 2) + 1;
  return nodes.filter((a) => nodes.filter((b) => isConnected(a, b)).length >= majority);
}

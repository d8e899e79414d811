// Configuration of one OmniPaxos node: the cluster (configuration id + members) and this server's
// knobs. validateConfig reports the first mistake as one readable ConfigError line.
import { limits } from "./limits.ts";

export interface ClusterConfig {
  /** Positive integer. Configuration 1 is the initial one (all members start from the empty log);
   *  every later configuration is entered through a decided StopSign and has a larger id. */
  configurationId: number;
  /** Member node ids: distinct positive integers (any ids, not only 1..n). */
  nodes: number[];
}

export interface ServerConfig {
  /** This node's id; must be one of cluster.nodes. */
  pid: number;
  /** Ticks per Ballot Leader Election heartbeat round (default 5). A leader is detected as failed
   *  after one round without its heartbeat reply. */
  electionTickTimeout?: number;
  /** Ticks before resending PrepareReq, Prepare, AcceptDecide, forwarded proposals, catch-up
   *  requests and read rounds that got no answer (default 10). */
  resendMessageTickTimeout?: number;
  /** Max entries per AcceptDecide. The leader flushes a batch when it is full, on tick() and on
   *  takeOutgoingMessages() (default 1000). */
  batchSize?: number;
  /** Ballot Leader Election priority: higher wins among quorum-connected candidates (default 0). */
  leaderPriority?: number;
}

export interface OmniPaxosConfig {
  cluster: ClusterConfig;
  server: ServerConfig;
}

/** ServerConfig with every default filled in. */
export interface ResolvedServerConfig {
  pid: number;
  electionTickTimeout: number;
  resendMessageTickTimeout: number;
  batchSize: number;
  leaderPriority: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function isId(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= 1 && x <= limits.idMax;
}

function checkOptionalTicks(name: string, v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > limits.tickTimeoutMax) {
    throw new ConfigError(`${name} must be an integer between 1 and ${limits.tickTimeoutMax}, got ${String(v)}`);
  }
}

/** Validates a ClusterConfig on its own (used for reconfigure() too). */
export function validateClusterConfig(cluster: unknown, what = "cluster"): asserts cluster is ClusterConfig {
  if (typeof cluster !== "object" || cluster === null) throw new ConfigError(`${what} is missing`);
  const c = cluster as Partial<ClusterConfig>;
  if (!isId(c.configurationId)) {
    throw new ConfigError(`${what}.configurationId must be an integer between 1 and ${limits.idMax}, got ${String(c.configurationId)}`);
  }
  if (!Array.isArray(c.nodes) || c.nodes.length === 0) throw new ConfigError(`${what}.nodes must be a non-empty array of node ids`);
  if (c.nodes.length > limits.nodesMax) throw new ConfigError(`${what}.nodes has ${c.nodes.length} members, at most ${limits.nodesMax} are allowed`);
  const seen = new Set<number>();
  for (const id of c.nodes) {
    if (!isId(id)) throw new ConfigError(`${what}.nodes contains ${String(id)}, node ids must be integers between 1 and ${limits.idMax}`);
    if (seen.has(id)) throw new ConfigError(`${what}.nodes lists node ${id} twice`);
    seen.add(id);
  }
}

/** Checks a whole config; throws ConfigError naming the first mistake. */
export function validateConfig(config: unknown): asserts config is OmniPaxosConfig {
  if (typeof config !== "object" || config === null) throw new ConfigError("config must be an object { cluster, server }");
  const { cluster, server } = config as Partial<OmniPaxosConfig>;
  validateClusterConfig(cluster);
  if (typeof server !== "object" || server === null) throw new ConfigError("server is missing (at least { pid })");
  if (!isId(server.pid)) throw new ConfigError(`server.pid must be an integer between 1 and ${limits.idMax}, got ${String(server.pid)}`);
  if (!cluster.nodes.includes(server.pid)) {
    throw new ConfigError(`server.pid ${server.pid} is not a member of cluster.nodes [${cluster.nodes.join(", ")}]`);
  }
  checkOptionalTicks("server.electionTickTimeout", server.electionTickTimeout);
  checkOptionalTicks("server.resendMessageTickTimeout", server.resendMessageTickTimeout);
  const b = server.batchSize;
  if (b !== undefined && (typeof b !== "number" || !Number.isInteger(b) || b < 1 || b > limits.batchEntriesMax)) {
    throw new ConfigError(`server.batchSize must be an integer between 1 and ${limits.batchEntriesMax}, got ${String(b)}`);
  }
  const p = server.leaderPriority;
  if (p !== undefined && (typeof p !== "number" || !Number.isInteger(p) || p < 0 || p > limits.idMax)) {
    throw new ConfigError(`server.leaderPriority must be an integer between 0 and ${limits.idMax}, got ${String(p)}`);
  }
}

export function resolveServerConfig(server: ServerConfig): ResolvedServerConfig {
  return {
    pid: server.pid,
    electionTickTimeout: server.electionTickTimeout ?? limits.electionTicksDefault,
    resendMessageTickTimeout: server.resendMessageTickTimeout ?? limits.resendTicksDefault,
    batchSize: server.batchSize ?? limits.batchEntriesDefault,
    leaderPriority: server.leaderPriority ?? 0,
  };
}

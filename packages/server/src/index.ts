// The embedding API of omnimeta's server: start a metad node inside your own process.
//   const node = await startNode({ name: "a", dataDir, listen: { host: "127.0.0.1", port: 0 } });
//   node.address  // "http://127.0.0.1:PORT"; await node.close();
export { startNode, type MetaNode } from "./node/meta-node.ts";
export type { NodeOptions, ListenAddress } from "./config.ts";
export type { AuthOptions } from "./auth/access-control.ts";
export { ConfigError, parseCommandLine } from "./config.ts";
export type { NodeStatus, NodeLifecycleState, MemberInfo, ConfigurationInfo, BallotInfo } from "./node/node-status.ts";
export type { Limits } from "./limits.ts";
export { defaultLimits } from "./limits.ts";
export type { Logger, LogFields, LogLevel } from "./log.ts";
export { createJsonLogger, silentLogger } from "./log.ts";

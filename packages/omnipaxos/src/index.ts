// Public entry point of @omnimeta/omnipaxos.
export { OmniPaxos } from "./omni-paxos.ts";
export type { OmniPaxosOptions, OmniPaxosStatus } from "./omni-paxos.ts";
export { validateConfig, validateClusterConfig, resolveServerConfig, ConfigError } from "./config.ts";
export type { ClusterConfig, ServerConfig, OmniPaxosConfig, ResolvedServerConfig } from "./config.ts";
export { BALLOT_ZERO, compareBallots, ballotEquals, formatBallot } from "./ballot.ts";
export type { Ballot } from "./ballot.ts";
export type { StopSign, StoredEntry, LogEntry, ConfigurationRecord } from "./log-entry.ts";
export type { SnapshotSpec } from "./snapshot.ts";
export type { Storage } from "./storage.ts";
export { MemoryStorage } from "./memory-storage.ts";
export type * from "./messages.ts";
export { ProposalError, CompactionError } from "./errors.ts";
export type { ProposalErrorCode, DroppedProposal, ReadyRead } from "./errors.ts";
export { AssertionError } from "./assert.ts";
export { limits } from "./limits.ts";

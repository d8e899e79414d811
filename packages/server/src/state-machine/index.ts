// The state machine's public surface for the rest of the server.
export * from "./command.ts";
export * from "./kv-types.ts";
export type { KvBackend, KvFullState, MemberDirectory } from "./kv-backend.ts";
export { KvStateMachine, WatchCompactedError } from "./kv-state-machine.ts";
export { MemoryKvBackend } from "./memory-kv-backend.ts";
export * from "./kv-snapshot.ts";
export { storedEntryCodec } from "./stored-entry-codec.ts";
export { DEFAULT_STATE_MACHINE_LIMITS, type StateMachineLimits } from "./limits.ts";
export { DecodeError } from "./byte-codec.ts";

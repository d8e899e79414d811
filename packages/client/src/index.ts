// @omnimeta/client: the typed client of omnimeta (endpoints, leader tracking, retries, sessions).
//   const client = new OmnimetaClient({ endpoints: "http://127.0.0.1:7001" }); // learns the other members
//   const { version } = await client.put("config/db", "pg://a", { ifAbsent: true });
//   for await (const e of client.watch("config/", { prefix: true, signal })) console.log(e.kv?.key);
export { OmnimetaClient } from "./client.ts";
export type { ClientOptions, ListOptions, OperationOptions, ReadOptions, WatchOptions, WriteOptions } from "./client.ts";
export {
  AlreadyExistsError, CanceledError, codeName, DeadlineExceededError, errorFromConnect, errorFromSession,
  InvalidArgumentError, NotFoundError, OmnimetaError, PermissionDeniedError, PreconditionFailedError,
  ResourceExhaustedError, ServerError, UnavailableError, WatchCompactedError,
} from "./errors.ts";
export { backoffDelayMs } from "./backoff.ts";
export { Endpoints, normalizeAddress } from "./endpoints.ts";
export { limits } from "./limits.ts";
export { tlsFromFiles, type ClientTls } from "./tls.ts";
export { readSnapshotInfo, type SnapshotInfo, type SnapshotStream } from "./snapshot.ts";
// The contract's messages the API hands out, so that callers need not import @omnimeta/proto.
export { EventType, NodeState, ReadConsistency } from "@omnimeta/proto";
export type {
  Ballot, Configuration, DeleteResponse, GetResponse, GetVersionResponse, KeyValue, ListMembersResponse, ListResponse,
  Member, PutResponse, StatusResponse, WatchEvent, WatchLeaderResponse,
} from "@omnimeta/proto";

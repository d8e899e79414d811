// @omnimeta/client: the typed client of omnimeta (endpoints, leader tracking, retries, sessions).
export { OmnimetaClient } from "./client.ts";
export type { ClientOptions, ListOptions, OperationOptions, ReadOptions, WatchOptions, WriteOptions } from "./client.ts";
export {
  AlreadyExistsError, CanceledError, codeName, DeadlineExceededError, errorFromConnect, errorFromSession,
  InvalidArgumentError, NotFoundError, OmnimetaError, PermissionDeniedError, PreconditionFailedError,
  ResourceExhaustedError, ServerError, UnavailableError,
} from "./errors.ts";
export { backoffDelayMs } from "./backoff.ts";
export { Endpoints, normalizeAddress } from "./endpoints.ts";
export { limits } from "./limits.ts";

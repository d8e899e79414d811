// Typed client errors and the one place where Connect codes (unary or Session) become them.
// Transport failures (refused, reset, dead HTTP/2 stream) become UnavailableError too.

import { Code, ConnectError } from "@connectrpc/connect";
import { LeaderHintSchema, PreconditionFailureSchema, WatchCompactedSchema } from "@omnimeta/proto";
import type { LeaderHint, PreconditionFailure, SessionError, WatchCompacted } from "@omnimeta/proto";

/** Base class: every error the client throws is one of these, with the Connect code it stands for. */
export class OmnimetaError extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
  /** The code's name in the Connect/gRPC spelling, e.g. "failed_precondition". */
  get codeName(): string {
    return codeName(this.code);
  }
}

export class NotFoundError extends OmnimetaError {}
export class InvalidArgumentError extends OmnimetaError {}
export class AlreadyExistsError extends OmnimetaError {}
export class PermissionDeniedError extends OmnimetaError {}
export class ResourceExhaustedError extends OmnimetaError {}
export class DeadlineExceededError extends OmnimetaError {}
export class CanceledError extends OmnimetaError {}
/** Any other server-side failure (INTERNAL, UNIMPLEMENTED, …); `code` says which. */
export class ServerError extends OmnimetaError {}

export class PreconditionFailedError extends OmnimetaError {
  readonly key: string;
  /** Whether the key existed when the precondition was checked. */
  readonly exists: boolean;
  /** The key's version then (0 when it did not exist). */
  readonly currentVersion: bigint;
  constructor(message: string, failure: PreconditionFailure | undefined, options?: { cause?: unknown }) {
    super(Code.FailedPrecondition, message, options);
    this.key = failure?.key ?? "";
    this.exists = failure?.exists ?? false;
    this.currentVersion = failure?.currentVersion ?? 0n;
  }
}

/**
 * A watch asked for revisions older than the watch history of every node it tried (OUT_OF_RANGE with a
 * WatchCompacted detail). History is per node and bounded: it is forgotten past the server's
 * --watch-history-revisions, and a node that caught up by installing a snapshot has none before it.
 * The changes in between are lost to this watch, so resume as etcd users do: read the current state
 * again (`list(prefix)`, or `get(key)`), then watch from that answer's `revision + 1n`.
 */
export class WatchCompactedError extends OmnimetaError {
  /** The revision the watch asked to start from. */
  readonly requestedRevision: bigint;
  /** The oldest revision the node can still deliver events from. */
  readonly oldestRevision: bigint;
  /** The revision the node had applied when it answered. */
  readonly currentRevision: bigint;
  constructor(message: string, detail: Pick<WatchCompacted, "requestedRevision" | "oldestRetainedRevision" | "currentRevision">, options?: { cause?: unknown }) {
    super(Code.OutOfRange, message, options);
    this.requestedRevision = detail.requestedRevision;
    this.oldestRevision = detail.oldestRetainedRevision;
    this.currentRevision = detail.currentRevision;
  }
}

/**
 * The cluster (or this endpoint) cannot serve now. `kind` says why:
 * "server" — the server answered UNAVAILABLE (no leader, leadership lost; maybe a leader hint);
 * "connect" — no connection could be made (the request never left);
 * "connection-lost" — the connection broke while the request was in flight.
 */
export class UnavailableError extends OmnimetaError {
  readonly kind: "server" | "connect" | "connection-lost";
  readonly leaderHint: { leaderId: bigint; leaderAddress: string } | undefined;
  /** The server answered with a LeaderHint detail (possibly naming no leader): it refused the call
   *  before acting on it, so even an at-most-once call may be re-sent. */
  readonly redirected: boolean;
  constructor(
    message: string,
    kind: UnavailableError["kind"],
    hint?: LeaderHint,
    options?: { cause?: unknown },
  ) {
    super(Code.Unavailable, message, options);
    this.kind = kind;
    this.leaderHint = hint && hint.leaderAddress !== "" ? { leaderId: hint.leaderId, leaderAddress: hint.leaderAddress } : undefined;
    this.redirected = hint !== undefined;
  }
}

export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

interface Details {
  preconditionFailure?: PreconditionFailure;
  leaderHint?: LeaderHint;
  watchCompacted?: WatchCompacted;
}

/** Maps a code, message and details to the typed error. The only switch over codes in the client. */
export function errorForCode(code: Code, message: string, details: Details, cause?: unknown): OmnimetaError {
  const options = { cause };
  switch (code) {
    case Code.NotFound:
      return new NotFoundError(code, message, options);
    case Code.FailedPrecondition:
      return new PreconditionFailedError(message, details.preconditionFailure, options);
    case Code.Unavailable:
      return new UnavailableError(message, "server", details.leaderHint, options);
    case Code.OutOfRange:
      if (details.watchCompacted) return new WatchCompactedError(message, details.watchCompacted, options);
      return new InvalidArgumentError(code, message, options);
    case Code.InvalidArgument:
      return new InvalidArgumentError(code, message, options);
    case Code.AlreadyExists:
      return new AlreadyExistsError(code, message, options);
    case Code.PermissionDenied:
    case Code.Unauthenticated:
      return new PermissionDeniedError(code, message, options);
    case Code.ResourceExhausted:
      return new ResourceExhaustedError(code, message, options);
    case Code.DeadlineExceeded:
      return new DeadlineExceededError(code, message, options);
    case Code.Canceled:
      return new CanceledError(code, message, options);
    default:
      return new ServerError(code, message, options);
  }
}

const networkErrorCode = /^(E[A-Z0-9]+|ERR_HTTP2_[A-Z_]+|ERR_STREAM_[A-Z_]+)$/;
const transportMessage = /^(http\/2 stream closed|protocol error: missing (status|trailer|output message)|premature close)/i;

/** The Node.js network error code (ECONNREFUSED, ERR_HTTP2_…) somewhere in the cause chain, if any. */
export function networkCause(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && networkErrorCode.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Any error thrown by a Connect call (or anything else) as a typed OmnimetaError. */
export function errorFromConnect(err: unknown): OmnimetaError {
  if (err instanceof OmnimetaError) return err;
  const ce = ConnectError.from(err);
  const net = networkCause(ce);
  const message = ce.rawMessage;
  if (ce.code === Code.Unavailable && net !== undefined) {
    return new UnavailableError(`cannot connect: ${message.replace(/^\[\w+\]\s*/, "")}`, "connect", undefined, { cause: ce });
  }
  const brokenStream = net !== undefined || transportMessage.test(message);
  if (brokenStream && (ce.code === Code.Aborted || ce.code === Code.Internal || ce.code === Code.Unknown || ce.code === Code.Canceled)) {
    return new UnavailableError(`connection lost: ${message}`, "connection-lost", undefined, { cause: ce });
  }
  const details: Details = {
    preconditionFailure: ce.findDetails(PreconditionFailureSchema)[0],
    leaderHint: ce.findDetails(LeaderHintSchema)[0],
    watchCompacted: ce.findDetails(WatchCompactedSchema)[0],
  };
  return errorForCode(ce.code, message, details, ce);
}

/** A failed request on a Session stream as a typed OmnimetaError. */
export function errorFromSession(se: SessionError): OmnimetaError {
  const code = (Code[se.code] === undefined ? Code.Unknown : se.code) as Code;
  return errorForCode(code, se.message, { preconditionFailure: se.preconditionFailure, leaderHint: se.leaderHint });
}

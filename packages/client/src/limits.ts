// Every bound of the client in one place: deadlines, backoff, in-flight windows.
// Units last in names (…Ms, …Count); going past a window is a typed error, never silent growth.

export const limits = {
  /** The deadline of one operation (all its attempts) unless the caller gives one. */
  operationTimeoutMsDefault: 10_000,
  /** One attempt against one endpoint gives up after this long, then another endpoint is tried. */
  attemptTimeoutMsMax: 3_000,
  /** First retry waits about this long; each further retry doubles it (with jitter). */
  backoffBaseMs: 20,
  /** The backoff never waits longer than this. */
  backoffMaxMs: 1_000,
  /** Leader hints followed in a row without sleeping, so that a hint ping-pong cannot spin. */
  hintFollowsWithoutBackoffMax: 2,
  /** Requests in flight on one Session stream; the next one fails RESOURCE_EXHAUSTED. */
  sessionInFlightMax: 16_384,
  /** HTTP/2 PING interval on an open connection, to notice a dead peer that sent no FIN. */
  pingIntervalMs: 5_000,
  pingTimeoutMs: 3_000,
  /** Keys asked for per List page when following pages (servers cap a page; 10,000 by default). */
  listPageCountMax: 1_000,
  /** Idle HTTP/2 connections close after this long. */
  idleConnectionTimeoutMs: 60_000,
} as const;

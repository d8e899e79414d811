// Errors to exit codes, and to the one line (or JSON object) on stderr: the only place that
// decides what a script sees when a command fails.
// 0 ok · 1 not found / precondition failed · 2 usage · 3 unavailable / deadline · 4 other server error ·
// 5 authentication failed / permission denied

import { CommanderError } from "commander";
import {
  CanceledError, DeadlineExceededError, NotFoundError, OmnimetaError, PreconditionFailedError, UnavailableError, WatchCompactedError,
} from "@omnimeta/client";

export const ExitCode = { ok: 0, notFound: 1, usage: 2, unavailable: 3, server: 4, auth: 5 } as const;

/** A mistake in how ctl was called (bad flag combination, unreadable file): exit 2. */
export class UsageError extends Error {}

/** A command that ran but must report failure with a given code after printing its output. */
export class CommandFailed extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  if (err instanceof UsageError) return ExitCode.usage;
  if (err instanceof CommandFailed) return err.exitCode;
  if (err instanceof NotFoundError || err instanceof PreconditionFailedError) return ExitCode.notFound;
  if (err instanceof UnavailableError || err instanceof DeadlineExceededError) return ExitCode.unavailable;
  if (err instanceof CanceledError) return ExitCode.unavailable;
  if (isAuthError(err)) return ExitCode.auth;
  return ExitCode.server;
}

/** The stable short name of an error, as in `--json` output: a Connect code name, "usage" or "internal". */
export function errorCodeName(err: unknown): string {
  if (err instanceof CommanderError || err instanceof UsageError) return "usage";
  if (err instanceof CommandFailed) return err.exitCode === ExitCode.unavailable ? "unavailable" : "failed";
  if (err instanceof OmnimetaError) return err.codeName;
  return "internal";
}

export function errorMessage(err: unknown): string {
  if (err instanceof PreconditionFailedError && err.key !== "") {
    const state = err.exists ? `its current version is ${err.currentVersion}` : "it does not exist";
    return `precondition failed on key "${err.key}": ${state}`;
  }
  if (err instanceof CommanderError) return firstLine(err.message.replace(/^error:\s*/, ""));
  if (err instanceof OmnimetaError && err.codeName === "unauthenticated") {
    return `authentication failed: ${firstLine(err.message)} (give the token with --token-file, CTL_TOKEN or --token)`;
  }
  if (err instanceof OmnimetaError && err.codeName === "permission_denied") return `permission denied: ${firstLine(err.message)}`;
  if (err instanceof OmnimetaError) return `${err.codeName.replace(/_/g, " ")}: ${firstLine(err.message)}`;
  if (err instanceof Error) return firstLine(err.message);
  return String(err);
}

/** The error as one stderr line: plain text, or a JSON object when --json was given. */
export function renderError(err: unknown, json: boolean): string {
  if (!json) return `ctl: ${errorMessage(err)}\n`;
  const body: Record<string, unknown> = { code: errorCodeName(err), message: errorMessage(err), exitCode: exitCodeFor(err) };
  if (err instanceof PreconditionFailedError && err.key !== "") {
    Object.assign(body, { key: err.key, exists: err.exists, currentVersion: Number(err.currentVersion) });
  }
  if (err instanceof UnavailableError && err.leaderHint) body.leaderAddress = err.leaderHint.leaderAddress;
  if (err instanceof WatchCompactedError) {
    Object.assign(body, { requestedRevision: Number(err.requestedRevision), oldestRevision: Number(err.oldestRevision), currentRevision: Number(err.currentRevision) });
  }
  return JSON.stringify({ error: body }) + "\n";
}

/** UNAUTHENTICATED (no or a wrong token) or PERMISSION_DENIED (the client token on an admin call). */
function isAuthError(err: unknown): boolean {
  return err instanceof OmnimetaError && (err.codeName === "unauthenticated" || err.codeName === "permission_denied");
}

function firstLine(s: string): string {
  return s.split("\n")[0].trim();
}

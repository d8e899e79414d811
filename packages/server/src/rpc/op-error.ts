// OpError: the one error type of request handling. It carries a Connect code and the structured details
// (PreconditionFailure, LeaderHint, WatchCompacted) and converts to a ConnectError (unary) or a SessionError (Session stream).

import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import {
  LeaderHintSchema,
  PreconditionFailureSchema,
  SessionErrorSchema,
  WatchCompactedSchema,
  type SessionError,
} from "@omnimeta/proto";

export interface PreconditionFailureInfo {
  key: string;
  exists: boolean;
  currentVersion: number;
}

export interface LeaderHintInfo {
  leaderId: number;
  leaderAddress: string;
}

/** Why a Watch cannot start where it was asked to (OUT_OF_RANGE); revisions as the state machine counts them. */
export interface WatchCompactedInfo {
  requestedRevision: number;
  oldestRetainedRevision: number;
  currentRevision: number;
}

export class OpError extends Error {
  override name = "OpError";
  constructor(
    readonly code: Code,
    message: string,
    readonly preconditionFailure?: PreconditionFailureInfo,
    readonly leaderHint?: LeaderHintInfo,
    readonly watchCompacted?: WatchCompactedInfo,
  ) {
    super(message);
  }

  toConnectError(): ConnectError {
    const details = [];
    if (this.preconditionFailure) {
      const p = this.preconditionFailure;
      details.push({
        desc: PreconditionFailureSchema,
        value: { key: p.key, exists: p.exists, currentVersion: BigInt(p.currentVersion) },
      });
    }
    if (this.leaderHint) {
      details.push({
        desc: LeaderHintSchema,
        value: { leaderId: BigInt(this.leaderHint.leaderId), leaderAddress: this.leaderHint.leaderAddress },
      });
    }
    if (this.watchCompacted) {
      const w = this.watchCompacted;
      details.push({
        desc: WatchCompactedSchema,
        value: {
          requestedRevision: BigInt(w.requestedRevision),
          oldestRetainedRevision: BigInt(w.oldestRetainedRevision),
          currentRevision: BigInt(w.currentRevision),
        },
      });
    }
    return new ConnectError(this.message, this.code, undefined, details);
  }

  toSessionError(): SessionError {
    return create(SessionErrorSchema, {
      code: this.code,
      message: this.message,
      preconditionFailure: this.preconditionFailure
        ? {
            key: this.preconditionFailure.key,
            exists: this.preconditionFailure.exists,
            currentVersion: BigInt(this.preconditionFailure.currentVersion),
          }
        : undefined,
      leaderHint: this.leaderHint
        ? { leaderId: BigInt(this.leaderHint.leaderId), leaderAddress: this.leaderHint.leaderAddress }
        : undefined,
    });
  }

  static fromSessionError(e: SessionError): OpError {
    return new OpError(
      e.code as Code,
      e.message,
      e.preconditionFailure
        ? { key: e.preconditionFailure.key, exists: e.preconditionFailure.exists, currentVersion: Number(e.preconditionFailure.currentVersion) }
        : undefined,
      e.leaderHint ? { leaderId: Number(e.leaderHint.leaderId), leaderAddress: e.leaderHint.leaderAddress } : undefined,
    );
  }

  /** Any thrown value as an OpError; unexpected errors become INTERNAL with their message only. */
  static from(e: unknown): OpError {
    if (e instanceof OpError) return e;
    if (e instanceof ConnectError) return new OpError(e.code, e.rawMessage);
    return new OpError(Code.Internal, e instanceof Error ? e.message : String(e));
  }
}

export const invalidArgument = (msg: string): OpError => new OpError(Code.InvalidArgument, msg);
export const resourceExhausted = (msg: string): OpError => new OpError(Code.ResourceExhausted, msg);
export const unavailable = (msg: string, hint?: LeaderHintInfo): OpError => new OpError(Code.Unavailable, msg, undefined, hint);
export const failedPrecondition = (msg: string, info?: PreconditionFailureInfo): OpError =>
  new OpError(Code.FailedPrecondition, msg, info);

// Who may call what: the client token (MetadataService and the read-only ClusterService calls), the admin
// token (Provision, AddMember, RemoveMember, SaveSnapshot) and the peer secret (PeerService). Tokens are
// kept only as SHA-256 digests and compared in constant time; no message or log line carries a token.

import { hash, timingSafeEqual } from "node:crypto";
import { Code } from "@connectrpc/connect";
import type { CounterCell, ServerMetrics } from "../metrics.ts";
import { OpError } from "../rpc/op-error.ts";

/** Secrets of a node (config "auth", flags --auth-token-file, --admin-token-file, --peer-secret-file). */
export interface AuthOptions {
  /** Bearer token of client calls; absent: client calls are open. */
  token?: string;
  /** Bearer token of admin calls (also accepted on client calls); absent: admin calls need the client token. */
  adminToken?: string;
  /** Shared secret every node-to-node call carries (header omnimeta-peer-secret); absent: peers are
   *  authenticated by mutual TLS alone (with TLS) or not at all (without). */
  peerSecret?: string;
}

/** What a method needs. */
export type Role = "client" | "admin" | "peer";

/** Header of the peer secret on node-to-node calls. */
export const PEER_SECRET_HEADER = "omnimeta-peer-secret";

const bearerPrefix = "Bearer ";
/** Longest authorization header hashed (a longer one is refused without hashing it). */
const headerBytesMax = 4096;

/** One-shot SHA-256 (about 1 µs for a header: no Hash object per request). */
const sha256 = (s: string): Buffer => hash("sha256", s, "buffer");

/** Why a call was refused: the `reason` label of omnimeta_auth_failures_total (bounded). */
type Reason = "missing_token" | "invalid_token" | "not_admin" | "missing_peer_secret" | "invalid_peer_secret";

export class AccessControl {
  private readonly clientDigest: Buffer | undefined;
  private readonly adminDigest: Buffer | undefined;
  private readonly peerDigest: Buffer | undefined;
  private readonly failures: Record<Reason, CounterCell>;

  constructor(options: AuthOptions, metrics: ServerMetrics) {
    // Digests of the whole header value ("Bearer <token>"): one hash per request, no string slicing.
    this.clientDigest = options.token !== undefined ? sha256(bearerPrefix + options.token) : undefined;
    this.adminDigest = options.adminToken !== undefined ? sha256(bearerPrefix + options.adminToken) : undefined;
    this.peerDigest = options.peerSecret !== undefined ? sha256(options.peerSecret) : undefined;
    const cell = (code: string, reason: Reason) => metrics.authFailures.cell({ code, reason });
    this.failures = {
      missing_token: cell("unauthenticated", "missing_token"),
      invalid_token: cell("unauthenticated", "invalid_token"),
      not_admin: cell("permission_denied", "not_admin"),
      missing_peer_secret: cell("unauthenticated", "missing_peer_secret"),
      invalid_peer_secret: cell("unauthenticated", "invalid_peer_secret"),
    };
  }

  /** Client calls need a token (the gRPC fast path checks only then). */
  get clientTokenRequired(): boolean {
    return this.clientDigest !== undefined;
  }

  /** Any check at all (false: every call is open, as without this module). */
  get enabled(): boolean {
    return this.clientDigest !== undefined || this.adminDigest !== undefined || this.peerDigest !== undefined;
  }

  get peerSecretRequired(): boolean {
    return this.peerDigest !== undefined;
  }

  /** The refusal of a call with this `authorization` (and, for peers, peer-secret) header, or undefined. */
  check(role: Role, authorization: string | null | undefined, peerSecret?: string | null): OpError | undefined {
    if (role === "peer") return this.checkPeer(peerSecret);
    const admin = this.adminDigest;
    const client = this.clientDigest;
    // Admin calls need the admin token if there is one, else the client token; client calls take either.
    const needed = role === "admin" ? (admin ?? client) : client;
    if (needed === undefined) return undefined;
    if (authorization === undefined || authorization === null || authorization === "") {
      return this.refuse("missing_token", Code.Unauthenticated, "a token is required (header authorization: Bearer <token>)");
    }
    const presented = authorization.length <= headerBytesMax ? sha256(authorization) : undefined;
    if (presented !== undefined && timingSafeEqual(presented, needed)) return undefined;
    if (role === "client" && presented !== undefined && admin !== undefined && timingSafeEqual(presented, admin)) return undefined;
    if (role === "admin" && presented !== undefined && client !== undefined && timingSafeEqual(presented, client)) {
      return this.refuse("not_admin", Code.PermissionDenied, "this call needs the admin token");
    }
    return this.refuse("invalid_token", Code.Unauthenticated, "the token is not valid");
  }

  private checkPeer(secret: string | null | undefined): OpError | undefined {
    const needed = this.peerDigest;
    if (needed === undefined) return undefined;
    if (secret === undefined || secret === null || secret === "") {
      return this.refuse("missing_peer_secret", Code.Unauthenticated, "peer calls need the cluster's peer secret");
    }
    if (secret.length <= headerBytesMax && timingSafeEqual(sha256(secret), needed)) return undefined;
    return this.refuse("invalid_peer_secret", Code.Unauthenticated, "peer calls need the cluster's peer secret (the one sent is wrong)");
  }

  private refuse(reason: Reason, code: Code, message: string): OpError {
    this.failures[reason].inc();
    return new OpError(code, message);
  }
}

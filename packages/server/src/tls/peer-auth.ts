// Who is on the other end of a request, as far as TLS can tell: the listener stores it in the Connect
// context values of every request, and PeerService refuses callers without a certificate from the CA.

import { Code, ConnectError, createContextKey, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { TLSSocket } from "node:tls";

export interface PeerAuth {
  /** The listener speaks TLS (false: no TLS configured, nothing to check here). */
  tls: boolean;
  /** The caller presented a certificate that chains to the node's CA. */
  authorized: boolean;
  /** Why not, when not authorized (e.g. "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "no certificate"). */
  reason: string;
}

export const peerAuthKey = createContextKey<PeerAuth>({ tls: false, authorized: false, reason: "" }, { description: "TLS peer identity" });

/** The context values of one request on a TLS listener. */
export function tlsContextValues(socket: unknown): ContextValues {
  const values = createContextValues();
  const s = socket as Partial<TLSSocket> | undefined;
  const authorized = s?.authorized === true;
  const err = s?.authorizationError;
  const reason = authorized ? "" : err === undefined || err === null ? "no certificate" : String(err);
  values.set(peerAuthKey, { tls: true, authorized, reason });
  return values;
}

/** Node-to-node calls on a TLS listener need a client certificate from the cluster's CA (mutual TLS). */
export function requirePeerCertificate(ctx: HandlerContext): void {
  const auth = ctx.values.get(peerAuthKey);
  if (!auth.tls || auth.authorized) return;
  throw new ConnectError(`peer calls need a client certificate from the cluster's CA (${auth.reason})`, Code.Unauthenticated);
}

// The Connect side of access control: which role each RPC needs, and the server interceptor that refuses a
// call before its handler runs (so a refused Exchange stream is never read, a refused Session never served).
// The gRPC fast path (grpc-unary-fast-path.ts) bypasses Connect and checks through `authorizeFast`.

import type { DescMethod } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import type * as http2 from "node:http2";
import { ClusterService, PeerService } from "@omnimeta/proto";
import type { OpError } from "../rpc/op-error.ts";
import { PEER_SECRET_HEADER, type AccessControl, type Role } from "./access-control.ts";

/** Every RPC not listed is a client call (MetadataService, Status, ListMembers, WatchLeader). */
const roles = new Map<string, Role>([
  ...PeerService.methods.map((m) => [key(m), "peer"] as const),
  ...[ClusterService.method.provision, ClusterService.method.addMember, ClusterService.method.removeMember, ClusterService.method.saveSnapshot].map((m) => [key(m), "admin"] as const),
]);

function key(m: DescMethod): string {
  return `${m.parent.typeName}/${m.name}`;
}

export function roleOf(method: DescMethod): Role {
  return roles.get(key(method)) ?? "client";
}

/** Refuses, with UNAUTHENTICATED or PERMISSION_DENIED, every Connect call without the credentials its role needs. */
export function authInterceptor(access: AccessControl): Interceptor {
  return (next) => async (req) => {
    const refused = access.check(roleOf(req.method), req.header.get("authorization"), req.header.get(PEER_SECRET_HEADER));
    if (refused) throw refused.toConnectError();
    return next(req);
  };
}

/** The fast path's check (Get, GetVersion, Put, Delete are client calls): no allocation unless a token is configured. */
export function authorizeFast(access: AccessControl): ((headers: http2.IncomingHttpHeaders) => OpError | undefined) | undefined {
  if (!access.clientTokenRequired) return undefined;
  return (headers) => access.check("client", headers.authorization);
}

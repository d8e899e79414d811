// One HTTP/2 connection per endpoint (gRPC protocol), with its service clients and its
// Session stream. close() tears every connection down so a process can exit. https:// endpoints use the
// client's TLS settings (CA, and a client certificate for mutual TLS). Every call carries the token, if any.

import { createClient } from "@connectrpc/connect";
import type { Client, Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ClusterService, MetadataService } from "@omnimeta/proto";
import { limits } from "./limits.ts";
import { SessionStream } from "./session.ts";
import type { ClientTls } from "./tls.ts";

export interface Connection {
  readonly address: string;
  readonly metadata: Client<typeof MetadataService>;
  readonly cluster: Client<typeof ClusterService>;
}

interface Entry extends Connection {
  readonly manager: Http2SessionManager;
  session: SessionStream | undefined;
}

export class Connections {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  private readonly interceptors: Interceptor[];

  constructor(private readonly tls: ClientTls = {}, token?: string) {
    if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw new Error("the token must be printable ASCII without spaces (it travels in a header)");
    const authorization = token === undefined ? undefined : `Bearer ${token}`;
    this.interceptors = authorization === undefined ? [] : [(next) => (req) => {
      req.header.set("authorization", authorization);
      return next(req);
    }];
  }

  get(address: string): Connection {
    return this.entry(address);
  }

  /** The open Session stream to `address`, opening a new one if there is none or it broke. */
  session(address: string): SessionStream {
    const entry = this.entry(address);
    if (entry.session === undefined || entry.session.isBroken()) {
      entry.session = new SessionStream(address, entry.metadata);
    }
    return entry.session;
  }

  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) {
      entry.session?.close();
      entry.manager.abort();
    }
    this.entries.clear();
  }

  private entry(address: string): Entry {
    if (this.closed) throw new Error("client is closed");
    let entry = this.entries.get(address);
    if (entry === undefined) {
      const manager = new Http2SessionManager(address, {
        pingIntervalMs: limits.pingIntervalMs,
        pingTimeoutMs: limits.pingTimeoutMs,
        idleConnectionTimeoutMs: limits.idleConnectionTimeoutMs,
      }, address.startsWith("https:") ? { ...this.tls } : undefined);
      const transport = createGrpcTransport({ baseUrl: address, sessionManager: manager, interceptors: this.interceptors });
      entry = {
        address,
        manager,
        metadata: createClient(MetadataService, transport),
        cluster: createClient(ClusterService, transport),
        session: undefined,
      };
      this.entries.set(address, entry);
    }
    return entry;
  }
}

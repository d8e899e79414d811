// One HTTP/2 connection per peer address, shared by every node-to-node call (consensus Exchange,
// request forwarding, Join, Identify, Admit). Honours peer routes: address ADDR is dialled at VIA. An
// https:// peer is dialled over TLS with this node's certificate (mutual TLS) and the cluster's CA as trust.
// Every call carries this node's credentials (setCredentials): the peer secret, and the client token.

import * as net from "node:net";
import type * as http2 from "node:http2";
import * as tls from "node:tls";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { peerWindowBytes, widenConnectionWindow } from "../rpc/http2-window.ts";
import { ClusterService, MetadataService, PeerService } from "@omnimeta/proto";
import { authorityOf, normaliseUrl } from "../config.ts";
import type { TlsCredentials } from "../tls/tls-credentials.ts";
import { PEER_SECRET_HEADER } from "../auth/access-control.ts";

/** What a node presents on its outbound calls. */
export interface PeerCredentials {
  /** Sent as omnimeta-peer-secret on every call (PeerService needs it where the cluster has one). */
  peerSecret?: string | undefined;
  /** Sent as "authorization: Bearer" where the call has none of its own (requests forwarded to the leader). */
  token?: string | undefined;
}

export interface PeerConnection {
  /** The peer's advertised address (base URL). */
  readonly address: string;
  /** What is actually dialled (differs when a peer route applies). */
  readonly dialUrl: string;
  readonly peer: Client<typeof PeerService>;
  readonly metadata: Client<typeof MetadataService>;
  readonly cluster: Client<typeof ClusterService>;
  /** "open" when the HTTP/2 connection is established. */
  state(): string;
  /** A raw HTTP/2 stream on this connection (the consensus Exchange writes its frames itself: peer-link.ts). */
  openStream(path: string, headers: http2.OutgoingHttpHeaders): Promise<http2.ClientHttp2Stream>;
  /** Tells the connection's keep-alive that `stream` delivered bytes (no PING needed). */
  noteRead(stream: http2.ClientHttp2Stream): void;
}

interface Entry extends PeerConnection {
  manager: Http2SessionManager;
  transport: Transport;
}

export class PeerClients {
  private readonly byAddress = new Map<string, Entry>();
  private closed = false;
  private tls: TlsCredentials | undefined;
  /** Headers every outbound call carries (made once: the Exchange stream adds them per (re)connect). */
  private credentialHeaders: Record<string, string> = {};

  constructor(private readonly routes: Record<string, string>) {}

  /** From now on, TLS connections present these credentials (read at each new connection: reloads apply). */
  setTls(credentials: TlsCredentials): void {
    this.tls = credentials;
  }

  /** From now on, every call presents these credentials (call before the first get()). */
  setCredentials(c: PeerCredentials): void {
    const h: Record<string, string> = {};
    if (c.peerSecret !== undefined) h[PEER_SECRET_HEADER] = c.peerSecret;
    if (c.token !== undefined) h.authorization = `Bearer ${c.token}`;
    this.credentialHeaders = h;
  }

  /** The URL dialled to reach `address` (after peer routes). */
  dialUrlOf(address: string): string {
    const url = normaliseUrl(address);
    const via = this.routes[authorityOf(url)];
    return via ? `${new URL(url).protocol}//${via}` : url;
  }

  get(address: string): PeerConnection {
    if (this.closed) throw new Error("peer clients closed");
    const key = normaliseUrl(address);
    let e = this.byAddress.get(key);
    if (!e) {
      const dialUrl = this.dialUrlOf(key);
      // PINGs detect a black-holed connection (e.g. a cut proxy link) and tear it down so streams reconnect.
      const target = new URL(dialUrl);
      const manager = new Http2SessionManager(
        dialUrl,
        // Ping only while streams are open: connect-node 2.1.1 re-arms an idle ping after the session is
        // destroyed and then throws from a timer (ERR_HTTP2_INVALID_SESSION); the Exchange stream keeps it busy anyway.
        { pingIntervalMs: 1000, pingTimeoutMs: 3000, pingIdleConnection: false },
        // Small messages must leave at once: no Nagle delay (it costs ~40 ms with delayed ACKs).
        { createConnection: () => this.connect(target, new URL(key).hostname), settings: { initialWindowSize: peerWindowBytes } },
      );
      const transport = createConnectTransport({
        baseUrl: dialUrl,
        httpVersion: "2",
        sessionManager: manager,
        readMaxBytes: 64 * 1024 * 1024,
        writeMaxBytes: 64 * 1024 * 1024,
        interceptors: [this.credentialsInterceptor],
      });
      e = {
        address: key,
        dialUrl,
        manager,
        transport,
        peer: createClient(PeerService, transport),
        metadata: createClient(MetadataService, transport),
        cluster: createClient(ClusterService, transport),
        state: () => manager.state(),
        openStream: async (path, headers) => {
          const stream = await manager.request("POST", path, { ...this.credentialHeaders, ...headers }, {});
          widenConnectionWindow(stream.session);
          return stream;
        },
        noteRead: (stream) => manager.notifyResponseByteRead(stream),
      };
      this.byAddress.set(key, e);
    }
    return e;
  }

  /** Adds the credentials a call does not set itself (a forwarded admin call keeps its caller's token). */
  private readonly credentialsInterceptor: Interceptor = (next) => (req) => {
    for (const [name, value] of Object.entries(this.credentialHeaders)) if (!req.header.has(name)) req.header.set(name, value);
    return next(req);
  };

  private connect(target: URL, peerHost: string): net.Socket {
    const host = target.hostname.replace(/^\[|\]$/g, "");
    if (target.protocol !== "https:") return net.connect({ host, port: Number(target.port || 80), noDelay: true });
    // The certificate is checked against the advertised host, also when a peer route dials elsewhere.
    const name = peerHost.replace(/^\[|\]$/g, "");
    const socket = tls.connect({
      host,
      port: Number(target.port || 443),
      ALPNProtocols: ["h2"],
      ...(net.isIP(name) === 0 ? { servername: name } : {}),
      checkServerIdentity: (_h, cert) => tls.checkServerIdentity(name, cert),
      ...(this.tls ? { secureContext: this.tls.clientContext() } : {}),
    });
    return socket.setNoDelay(true);
  }

  close(): void {
    this.closed = true;
    for (const e of this.byAddress.values()) e.manager.abort();
    this.byAddress.clear();
  }
}

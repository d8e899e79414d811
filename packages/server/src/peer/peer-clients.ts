// One HTTP/2 connection per peer address, shared by every node-to-node call (consensus Exchange,
// request forwarding, Join, Identify, Admit). Honours peer routes: address ADDR is dialled at VIA. An
// https:// peer is dialled over TLS with this node's certificate (mutual TLS) and the cluster's CA as trust.

import * as net from "node:net";
import type * as http2 from "node:http2";
import * as tls from "node:tls";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ClusterService, MetadataService, PeerService } from "@omnimeta/proto";
import { authorityOf, normaliseUrl } from "../config.ts";
import type { TlsCredentials } from "../tls/tls-credentials.ts";

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

  constructor(private readonly routes: Record<string, string>) {}

  /** From now on, TLS connections present these credentials (read at each new connection: reloads apply). */
  setTls(credentials: TlsCredentials): void {
    this.tls = credentials;
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
        { createConnection: () => this.connect(target, new URL(key).hostname) },
      );
      const transport = createConnectTransport({
        baseUrl: dialUrl,
        httpVersion: "2",
        sessionManager: manager,
        readMaxBytes: 64 * 1024 * 1024,
        writeMaxBytes: 64 * 1024 * 1024,
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
        openStream: (path, headers) => manager.request("POST", path, headers, {}),
        noteRead: (stream) => manager.notifyResponseByteRead(stream),
      };
      this.byAddress.set(key, e);
    }
    return e;
  }

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

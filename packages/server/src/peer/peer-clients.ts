// One HTTP/2 connection per peer address, shared by every node-to-node call (consensus Exchange,
// request forwarding, Join, Identify, FetchState). Honours peer routes: address ADDR is dialled at VIA.

import * as net from "node:net";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ClusterService, MetadataService, PeerService } from "@omnimeta/proto";
import { authorityOf, normaliseUrl } from "../config.ts";

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
}

interface Entry extends PeerConnection {
  manager: Http2SessionManager;
  transport: Transport;
}

export class PeerClients {
  private readonly byAddress = new Map<string, Entry>();
  private closed = false;

  constructor(private readonly routes: Record<string, string>) {}

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
        { createConnection: () => net.connect({ host: target.hostname.replace(/^\[|\]$/g, ""), port: Number(target.port || 80), noDelay: true }) },
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
      };
      this.byAddress.set(key, e);
    }
    return e;
  }

  close(): void {
    this.closed = true;
    for (const e of this.byAddress.values()) e.manager.abort();
    this.byAddress.clear();
  }
}

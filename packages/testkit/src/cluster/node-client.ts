// A thin direct client to ONE node (no leader tracking, no retries): the workload and the harness
// see exactly what each node answered, which keeps histories honest.
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ClusterService, MetadataService } from "@omnimeta/proto";

export class NodeClient {
  readonly metadata: Client<typeof MetadataService>;
  readonly cluster: Client<typeof ClusterService>;
  private readonly manager: Http2SessionManager;

  constructor(readonly address: string) {
    // Pings find a dead or stopped peer; each call has its own deadline besides.
    this.manager = new Http2SessionManager(address, { pingIntervalMs: 1000, pingTimeoutMs: 1000, idleConnectionTimeoutMs: 30_000 });
    const transport = createGrpcTransport({ baseUrl: address, sessionManager: this.manager });
    this.metadata = createClient(MetadataService, transport);
    this.cluster = createClient(ClusterService, transport);
  }

  close(): void {
    this.manager.abort();
  }
}

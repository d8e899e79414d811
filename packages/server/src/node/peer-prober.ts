// Round-trip time to every other member: a PeerService.Identify call every few seconds over the shared
// peer connection, as etcd's rafthttp prober does, into omnimeta_network_peer_round_trip_time_seconds{peer}
// (failures into omnimeta_peer_probe_failures_total{peer}). One probe per peer in flight at most.

import type { ServerMetrics } from "../metrics.ts";
import type { PeerClients } from "../peer/peer-clients.ts";
import type { NodeStatus } from "./node-status.ts";

export const probeIntervalMs = 2000;
const probeTimeoutMs = 5000;

export class PeerProber {
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<number>();
  private closed = false;

  constructor(
    private readonly o: { status: () => NodeStatus; clients: PeerClients; metrics: ServerMetrics },
  ) {}

  start(): void {
    this.probeAll();
    this.timer = setInterval(() => this.probeAll(), probeIntervalMs);
    this.timer.unref();
  }

  private probeAll(): void {
    if (this.closed) return;
    const s = this.o.status();
    if (s.state !== "active" || s.configuration === undefined) return;
    for (const m of s.configuration.members) {
      if (m.nodeId === s.nodeId || this.inFlight.has(m.nodeId)) continue;
      void this.probe(m.nodeId, m.address);
    }
  }

  private async probe(nodeId: number, address: string): Promise<void> {
    this.inFlight.add(nodeId);
    const labels = { peer: String(nodeId) };
    const t0 = performance.now();
    try {
      await this.o.clients.get(address).peer.identify({}, { timeoutMs: probeTimeoutMs });
      if (!this.closed) this.o.metrics.peerRoundTripSeconds.cell(labels).observe((performance.now() - t0) / 1000);
    } catch {
      if (!this.closed) this.o.metrics.peerProbeFailures.inc(labels);
    } finally {
      this.inFlight.delete(nodeId);
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }
}

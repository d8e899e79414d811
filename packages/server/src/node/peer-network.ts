// The consensus network of one node: an outbound PeerLink per peer (created on first use) that carries
// encoded batches, and the decoding of inbound batches. Also the peer-connectivity metric.

import type { Logger } from "../log.ts";
import type { Limits } from "../limits.ts";
import type { ServerMetrics } from "../metrics.ts";
import { encodeBatch } from "../peer/codec.ts";
import type { PeerClients } from "../peer/peer-clients.ts";
import { PeerLink } from "../peer/peer-link.ts";
import type { AddressBook } from "./address-book.ts";
import type { CoreMessage } from "./replica.ts";

export class PeerNetwork {
  private readonly links = new Map<number, PeerLink>();
  private closed = false;

  constructor(
    private readonly o: {
      clusterId: string;
      selfId: number;
      selfAddress: string;
      clients: PeerClients;
      addresses: AddressBook;
      limits: Limits;
      metrics: ServerMetrics;
      logger: Logger;
    },
  ) {
    o.metrics.peerConnected.collect(() =>
      [...this.links.entries()].map(([id, l]) => [{ peer: String(id) }, o.clients.get(l.address).state() === "open" ? 1 : 0]),
    );
  }

  send(to: number, messages: CoreMessage[]): void {
    if (this.closed) return;
    const address = this.o.addresses.get(to);
    if (!address) {
      this.o.metrics.peerMessagesDropped.inc(undefined, messages.length);
      this.o.logger.debug("no address for peer; messages dropped", { peer: to, count: messages.length });
      return;
    }
    let link = this.links.get(to);
    if (link && link.address !== address) {
      link.close();
      link = undefined;
    }
    if (!link) {
      link = new PeerLink({
        clusterId: this.o.clusterId,
        fromId: this.o.selfId,
        fromAddress: this.o.selfAddress,
        toId: to,
        address,
        clients: this.o.clients,
        queueBatchesMax: this.o.limits.peerQueueBatchesMax,
        chunkBytes: this.o.limits.stateChunkBytes,
        logger: this.o.logger,
        onDropped: (n) => this.o.metrics.peerMessagesDropped.inc(undefined, n),
        onFrame: (bytes) => this.o.metrics.observePeerFrameBytes(bytes),
      });
      this.links.set(to, link);
      this.o.metrics.peerReconnects.inc();
    }
    const batch = encodeBatch(messages);
    this.o.metrics.observePeerBatchBytes(batch.length);
    if (carriesSnapshot(messages)) this.o.metrics.addStateTransferBytes("sent", batch.length);
    link.send(batch);
    this.o.metrics.peerMessagesSent.inc(undefined, messages.length);
  }

  /**
   * False while the connection to `to` is failing or being (re)made: what is sent now most likely waits in
   * the link's queue or is dropped. True for a peer never sent to (nothing is known against it).
   */
  reachable(to: number): boolean {
    const link = this.links.get(to);
    if (link === undefined) return true;
    const state = this.o.clients.get(link.address).state();
    return state !== "error" && state !== "connecting";
  }

  close(): void {
    this.closed = true;
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }
}

/**
 * A batch with a snapshot inside a sync payload: state transfer (omnimeta_state_transfer_bytes_total). An
 * offer is not one: its state travels by FetchSnapshot, whose chunks are counted there, and the batch is the
 * log suffix (counting it too doubled the bytes bench:join reported).
 */
export function carriesSnapshot(messages: readonly unknown[]): boolean {
  return messages.some((m) => {
    const s = (m as { sync?: { snapshot?: { snapshot?: { kind?: string } } } }).sync?.snapshot;
    return s !== undefined && s.snapshot?.kind !== "offer";
  });
}

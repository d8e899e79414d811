// The outbound half of consensus traffic to one peer: a long-lived client-streaming Exchange call that
// carries batches of encoded core messages. Reconnects with capped exponential backoff and jitter; while
// down, batches queue up to a bound (oldest dropped; the core resends what matters on its timeouts).

import { create } from "@bufbuild/protobuf";
import { ExchangeRequestSchema, type ExchangeRequest } from "@omnimeta/proto";
import { AsyncQueue } from "./async-queue.ts";
import type { PeerClients } from "./peer-clients.ts";
import type { Logger } from "../log.ts";

const backoffMinMs = 20;
const backoffMaxMs = 1000;

export interface PeerLinkOptions {
  clusterId: string;
  fromId: number;
  /** This node's advertised address, sent so that the receiver can answer a node it does not know yet. */
  fromAddress: string;
  toId: number;
  address: string;
  clients: PeerClients;
  queueBatchesMax: number;
  /** Largest chunk of an encoded batch in one ExchangeRequest. */
  chunkBytes: number;
  logger: Logger;
  onDropped: (count: number) => void;
}

export class PeerLink {
  private queue: AsyncQueue<ExchangeRequest[]>;
  private closed = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  constructor(private readonly o: PeerLinkOptions) {
    this.queue = new AsyncQueue(o.queueBatchesMax);
    this.open();
  }

  get address(): string {
    return this.o.address;
  }

  /**
   * Queues one encoded batch; a batch over chunkBytes goes as several partial requests. The queue holds
   * whole batches, so dropping (queue full) never splits one; a stream that breaks mid-batch loses the
   * rest of it, and the receiver discards the partial chunks with its end of that stream.
   */
  send(batch: Uint8Array): void {
    if (this.closed) return;
    const before = this.queue.droppedCount;
    const chunk = this.o.chunkBytes;
    const requests: ExchangeRequest[] = [];
    for (let off = 0; ; off += chunk) {
      const last = off + chunk >= batch.length;
      requests.push(create(ExchangeRequestSchema, {
        clusterId: this.o.clusterId,
        from: BigInt(this.o.fromId),
        to: BigInt(this.o.toId),
        messages: [batch.length <= chunk ? batch : batch.subarray(off, off + chunk)],
        fromAddress: this.o.fromAddress,
        partial: !last,
      }));
      if (last) break;
    }
    this.queue.push(requests);
    if (this.queue.droppedCount > before) this.o.onDropped(this.queue.droppedCount - before);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.queue.end();
    this.abort?.abort();
  }

  private open(): void {
    if (this.closed) return;
    const queue = this.queue;
    const abort = new AbortController();
    this.abort = abort;
    const openedAt = Date.now();
    const peer = this.o.clients.get(this.o.address).peer;
    peer.exchange(flatten(queue), { signal: abort.signal }).then(
      () => this.reopen(queue, openedAt, undefined),
      (e: unknown) => this.reopen(queue, openedAt, e),
    );
  }

  private reopen(old: AsyncQueue<ExchangeRequest[]>, openedAt: number, error: unknown): void {
    if (this.closed) return;
    // Carry the unsent batches to the next stream.
    this.queue = new AsyncQueue(this.o.queueBatchesMax);
    old.end();
    for (const b of old.drain()) this.queue.push(b);
    if (Date.now() - openedAt > 2000) this.failures = 0;
    this.failures++;
    const capMs = Math.min(backoffMaxMs, backoffMinMs * 2 ** Math.min(this.failures, 10));
    const delayMs = capMs / 2 + Math.random() * (capMs / 2);
    if (this.failures === 1 || this.failures % 20 === 0) {
      this.o.logger.debug("peer stream down", { peer: this.o.toId, address: this.o.address, error: describe(error), retryMs: Math.round(delayMs) });
    }
    this.timer = setTimeout(() => this.open(), delayMs);
  }
}

async function* flatten(batches: AsyncIterable<ExchangeRequest[]>): AsyncGenerator<ExchangeRequest> {
  for await (const requests of batches) yield* requests;
}

function describe(e: unknown): string {
  return e === undefined ? "stream ended" : e instanceof Error ? e.message : String(e);
}

// The outbound half of consensus traffic to one peer: a long-lived client-streaming Exchange call that
// carries batches of encoded core messages. The frames are written straight onto the HTTP/2 stream, in
// the Connect streaming format the receiving PeerService handler reads: a batch reaches the socket in the
// same event-loop turn it is sent in. (Connect's own client writes one message per turn, each after the
// previous write's callback, through a chain of async iterators: a batch queued behind another waited a
// turn, which is behind the sender's fsync, and cost CPU per message.)
// Reconnects with capped exponential backoff and jitter; while the stream is down or congested, batches
// queue up to a bound (oldest dropped; the core resends what matters on its timeouts).

import type * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { ExchangeRequestSchema } from "@omnimeta/proto";
import type { PeerClients } from "./peer-clients.ts";
import type { Logger } from "../log.ts";

const backoffMinMs = 20;
const backoffMaxMs = 1000;
const exchangePath = "/omnimeta.v1.PeerService/Exchange";
/** Bytes the HTTP/2 stream may hold unsent before new batches queue here instead (and may be dropped). */
const streamBufferedBytesMax = 8 * 1024 * 1024;

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
  /** Told the size of every frame made (envelope included), e.g. for a max-frame metric. */
  onFrame?: (bytes: number) => void;
  /** Extra request headers of the Exchange stream (e.g. peer authentication). */
  headers?: () => http2.OutgoingHttpHeaders;
}

export class PeerLink {
  /** Whole batches (each a list of enveloped ExchangeRequests) not yet written to a stream. */
  private pending: Buffer[][] = [];
  private stream: http2.ClientHttp2Stream | undefined;
  private closed = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private payloadMax: number | undefined;

  constructor(private readonly o: PeerLinkOptions) {
    this.open();
  }

  get address(): string {
    return this.o.address;
  }

  /**
   * Sends one encoded batch; a batch over chunkBytes goes as several partial requests. Batches are written or
   * queued whole, so dropping (queue full) never splits one; a stream that breaks mid-batch loses the rest
   * of it, and the receiver discards the partial chunks with its end of that stream.
   */
  send(batch: Uint8Array): void {
    if (this.closed) return;
    const frames = this.frames(batch);
    const s = this.stream;
    if (s && this.pending.length === 0 && s.writableLength < streamBufferedBytesMax) {
      for (const f of frames) s.write(f);
      return;
    }
    this.pending.push(frames);
    if (this.pending.length > this.o.queueBatchesMax) {
      this.pending.shift();
      this.o.onDropped(1);
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.pending = [];
    this.stream?.close();
    this.stream = undefined;
  }

  /** The enveloped ExchangeRequests of one batch: flag byte 0, 4-byte big-endian length, message. */
  /** Payload bytes per frame, so that a whole frame (envelope and ExchangeRequest fields included) is at
   *  most chunkBytes: "no frame over 1 MiB" holds for what goes on the wire, not only for the payload. */
  private payloadBytesMax(): number {
    if (this.payloadMax !== undefined) return this.payloadMax;
    const fields = toBinary(ExchangeRequestSchema, create(ExchangeRequestSchema, {
      clusterId: this.o.clusterId, from: BigInt(this.o.fromId), to: BigInt(this.o.toId), messages: [], fromAddress: this.o.fromAddress, partial: true,
    })).length;
    // 5: the Connect envelope; 1 + 5: the messages field's tag and its length varint (at most 5 bytes).
    this.payloadMax = this.o.chunkBytes - (5 + fields + 1 + 5);
    if (this.payloadMax <= 0) throw new Error(`peer chunk size ${this.o.chunkBytes} B leaves no room for a payload`);
    return this.payloadMax;
  }

  private frames(batch: Uint8Array): Buffer[] {
    const chunk = this.payloadBytesMax();
    const out: Buffer[] = [];
    for (let off = 0; ; off += chunk) {
      const last = off + chunk >= batch.length;
      const bytes = toBinary(ExchangeRequestSchema, create(ExchangeRequestSchema, {
        clusterId: this.o.clusterId,
        from: BigInt(this.o.fromId),
        to: BigInt(this.o.toId),
        messages: [batch.length <= chunk ? batch : batch.subarray(off, off + chunk)],
        fromAddress: this.o.fromAddress,
        partial: !last,
      }));
      const f = Buffer.allocUnsafe(5 + bytes.length);
      f[0] = 0;
      f.writeUInt32BE(bytes.length, 1);
      f.set(bytes, 5);
      this.o.onFrame?.(f.length);
      out.push(f);
      if (last) break;
    }
    return out;
  }

  private open(): void {
    if (this.closed) return;
    const openedAt = Date.now();
    let conn: ReturnType<PeerClients["get"]>;
    try {
      conn = this.o.clients.get(this.o.address);
    } catch (e) {
      // An address that cannot be dialled: back off and try again (it may be corrected), never throw into the flush.
      return this.reopen(openedAt, e);
    }
    const headers: http2.OutgoingHttpHeaders = {
      "content-type": "application/connect+proto",
      "connect-protocol-version": "1",
      ...this.o.headers?.(),
    };
    conn.openStream(exchangePath, headers).then(
      (stream) => {
        if (this.closed) return void stream.close();
        let error: unknown;
        stream.on("response", (h) => {
          if (h[":status"] !== 200) error = new Error(`Exchange answered HTTP ${String(h[":status"])}`);
        });
        // The answer is one end-of-stream frame when the receiver ends the call (an error, or its shutdown).
        stream.on("data", () => conn.noteRead(stream));
        // The receiver ended its half: the call is over (whatever we write now is discarded), so end ours too;
        // "close" then opens the next stream.
        stream.on("end", () => {
          error ??= new Error("the receiver ended the Exchange stream");
          stream.close();
        });
        stream.on("drain", () => this.writePending());
        stream.on("error", (e) => (error = e));
        stream.on("close", () => {
          if (this.stream === stream) this.stream = undefined;
          this.reopen(openedAt, error);
        });
        this.stream = stream;
        this.writePending();
      },
      (e: unknown) => this.reopen(openedAt, e),
    );
  }

  /** Writes the queued batches while the stream takes them. */
  private writePending(): void {
    const s = this.stream;
    while (s && this.pending.length > 0 && s.writableLength < streamBufferedBytesMax) {
      for (const f of this.pending.shift()!) s.write(f);
    }
  }

  private reopen(openedAt: number, error: unknown): void {
    if (this.closed) return;
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

function describe(e: unknown): string {
  return e === undefined ? "stream ended" : e instanceof Error ? e.message : String(e);
}

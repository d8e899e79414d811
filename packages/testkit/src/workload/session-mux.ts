// One bidi Session stream to one node, shared by the workload clients: requests are pipelined
// with ids and answers matched by id, as the typed client does. A broken stream fails every
// pending request (ambiguously: it may have been applied) and the next call opens a new stream.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SessionRequestSchema, SessionResponse } from "@omnimeta/proto";
import type { NodeClient } from "../cluster/node-client.ts";

type RequestInit = MessageInitShape<typeof SessionRequestSchema>;
export type SessionOp = RequestInit["op"];
export type SessionResult = SessionResponse["result"];

/** A push queue that is the request side of the stream; at most one op per client is in it. */
class RequestQueue implements AsyncIterable<RequestInit> {
  private readonly items: RequestInit[] = [];
  private wake: (() => void) | undefined;
  ended = false;

  push(item: RequestInit): void {
    this.items.push(item);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RequestInit> {
    for (;;) {
      while (this.items.length > 0) yield this.items.shift()!;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

interface Stream {
  requests: RequestQueue;
  abort: AbortController;
  pending: Map<bigint, { resolve: (r: SessionResult) => void; reject: (e: Error) => void }>;
}

export class SessionMux {
  private stream: Stream | undefined;
  private nextId = 1n;

  constructor(private readonly client: NodeClient) {}

  /** Sends one op and awaits its answer; rejects on a broken stream or after timeoutMs. */
  call(op: SessionOp, timeoutMs: number): Promise<SessionResult> {
    const stream = this.stream ?? this.open();
    const id = this.nextId++;
    return new Promise<SessionResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.pending.delete(id);
        reject(new Error(`deadline exceeded after ${timeoutMs} ms on the session stream`));
      }, timeoutMs);
      stream.pending.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      stream.requests.push({ id, op });
    });
  }

  close(): void {
    this.stream?.requests.end();
    this.stream?.abort.abort();
    this.stream = undefined;
  }

  private open(): Stream {
    const stream: Stream = { requests: new RequestQueue(), abort: new AbortController(), pending: new Map() };
    this.stream = stream;
    void this.read(stream);
    return stream;
  }

  private async read(stream: Stream): Promise<void> {
    let reason = "the node closed the session stream";
    try {
      for await (const r of this.client.metadata.session(stream.requests, { signal: stream.abort.signal })) {
        const waiter = stream.pending.get(r.id);
        stream.pending.delete(r.id);
        waiter?.resolve(r.result);
      }
    } catch (e) {
      reason = `session stream broke: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (this.stream === stream) this.stream = undefined;
    stream.requests.end();
    stream.abort.abort();
    for (const waiter of stream.pending.values()) waiter.reject(new Error(reason));
    stream.pending.clear();
  }
}

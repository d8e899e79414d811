// A minimal pipelining client on MetadataService.Session (one bidi stream, many requests in flight,
// answers matched by id), built directly on @omnimeta/proto for the benchmark.

import type { Client } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type MetadataService, type SessionRequestSchema, type SessionResponse } from "@omnimeta/proto";

type RequestInit = MessageInitShape<typeof SessionRequestSchema>;
type Op = RequestInit["op"];

export class SessionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class SessionClient {
  private readonly pending = new Map<bigint, { resolve: (r: SessionResponse) => void; reject: (e: Error) => void }>();
  private readonly outbox: RequestInit[] = [];
  private wake: (() => void) | undefined;
  private nextId = 1n;
  private closed = false;
  private failure: Error | undefined;
  readonly done: Promise<void>;

  constructor(client: Client<typeof MetadataService>) {
    this.done = this.run(client);
  }

  private async *requests(): AsyncGenerator<RequestInit> {
    while (!this.closed) {
      while (this.outbox.length > 0) yield this.outbox.shift()!;
      if (this.closed) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  private async run(client: Client<typeof MetadataService>): Promise<void> {
    try {
      for await (const res of client.session(this.requests())) {
        const p = this.pending.get(res.id);
        if (!p) continue;
        this.pending.delete(res.id);
        if (res.result.case === "error") p.reject(new SessionError(res.result.value.code, `[code ${res.result.value.code}] ${res.result.value.message}`));
        else p.resolve(res);
      }
      this.failure = new Error("session stream ended");
    } catch (e) {
      this.failure = ConnectError.from(e);
    }
    this.closed = true;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  get broken(): boolean {
    return this.closed;
  }

  call(op: Op): Promise<SessionResponse> {
    if (this.closed) return Promise.reject(this.failure ?? new Error("session closed"));
    const id = this.nextId++;
    const p = new Promise<SessionResponse>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.outbox.push({ id, op });
    this.wake?.();
    return p;
  }

  put(key: string, value: Uint8Array, requestId: string): Promise<SessionResponse> {
    return this.call({ case: "put", value: { key, value, requestId } });
  }

  get(key: string): Promise<SessionResponse> {
    return this.call({ case: "get", value: { key } });
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }
}

// One bidi Session stream to one endpoint: many requests in flight, answers matched by id in
// any order. When the stream breaks, every pending request fails UnavailableError("connection-lost")
// so the retry loop re-sends it (same request id) on a fresh stream; a stream the server refuses
// (UNAUTHENTICATED, PERMISSION_DENIED) fails them with that refusal, which is not retried.

import type { Client } from "@connectrpc/connect";
import type { MetadataService, SessionRequest, SessionResponse } from "@omnimeta/proto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SessionRequestSchema } from "@omnimeta/proto";
import { Code } from "@connectrpc/connect";
import { AsyncQueue } from "./async-queue.ts";
import { errorFromConnect, errorFromSession, ResourceExhaustedError, UnavailableError } from "./errors.ts";
import { limits } from "./limits.ts";

type RequestInit = MessageInitShape<typeof SessionRequestSchema>;
export type SessionOp = Exclude<SessionRequest["op"], { case: undefined }>;
export type SessionResult = Exclude<SessionResponse["result"], { case: undefined } | { case: "error" }>;

interface Pending {
  resolve: (r: SessionResult) => void;
  reject: (e: unknown) => void;
}

export class SessionStream {
  readonly address: string;
  private readonly requests = new AsyncQueue<RequestInit>();
  private readonly pending = new Map<bigint, Pending>();
  private readonly abort = new AbortController();
  private nextId = 1n;
  private broken: Error | undefined;

  constructor(address: string, client: Client<typeof MetadataService>) {
    this.address = address;
    void this.readLoop(client.session(this.requests, { signal: this.abort.signal }));
  }

  isBroken(): boolean {
    return this.broken !== undefined;
  }

  inFlightCount(): number {
    return this.pending.size;
  }

  /** Sends one request; resolves with its result, rejects with a typed error. */
  call(op: SessionOp, signal: AbortSignal): Promise<SessionResult> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.pending.size >= limits.sessionInFlightMax) {
      return Promise.reject(new ResourceExhaustedError(Code.ResourceExhausted, `more than ${limits.sessionInFlightMax} requests in flight on one session`));
    }
    const id = this.nextId++;
    return new Promise<SessionResult>((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(id);
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      const done = () => signal.removeEventListener("abort", onAbort);
      this.pending.set(id, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
      this.requests.push({ id, op } as RequestInit);
    });
  }

  close(): void {
    this.fail(new UnavailableError(`session to ${this.address} closed by the client`, "connection-lost"));
    this.abort.abort();
  }

  private async readLoop(responses: AsyncIterable<SessionResponse>): Promise<void> {
    try {
      for await (const response of responses) this.deliver(response);
      this.fail(new UnavailableError(`session stream to ${this.address} ended`, "connection-lost"));
    } catch (err) {
      const typed = errorFromConnect(err);
      // A refused stream (wrong or missing token) fails its requests as such: re-sending cannot help.
      if (typed.code === Code.Unauthenticated || typed.code === Code.PermissionDenied) return this.fail(typed);
      const lost = typed instanceof UnavailableError ? typed : new UnavailableError(`session stream to ${this.address} failed: ${typed.message}`, "connection-lost", undefined, { cause: typed });
      this.fail(lost);
    }
  }

  private deliver(response: SessionResponse): void {
    const p = this.pending.get(response.id);
    if (p === undefined) return; // the caller gave up (deadline or abort); a late answer is dropped
    this.pending.delete(response.id);
    const result = response.result;
    if (result.case === "error") p.reject(errorFromSession(result.value));
    else if (result.case === undefined) p.reject(new UnavailableError(`empty answer on session to ${this.address}`, "connection-lost"));
    else p.resolve(result);
  }

  private fail(err: Error): void {
    if (this.broken) return;
    this.broken = err;
    this.requests.close();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }
}

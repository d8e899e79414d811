// An in-process single-copy MetadataService for testing the workload pipeline without a cluster.
// Faults on demand: ambiguous replies (applied, then UNAVAILABLE), stale reads, no de-duplication.
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { MetadataService, PreconditionFailureSchema, type Precondition } from "@omnimeta/proto";
import { Prng } from "../../src/util/prng.ts";

export interface FakeFaults {
  /** Chance that an applied write answers UNAVAILABLE instead of its result. */
  ambiguousRate: number;
  /** Reads answer the state before the last write of the key. */
  staleReads: boolean;
  /** Retries of a request id are applied again. */
  noDedup: boolean;
}

interface Entry {
  value: Uint8Array;
  version: bigint;
}

type WriteResult = { version: bigint } | { previousVersion: bigint } | ConnectError;

export class FakeNode {
  private readonly kv = new Map<string, Entry>();
  private readonly previous = new Map<string, Entry | undefined>();
  private readonly answered = new Map<string, WriteResult>();
  private readonly rng = new Prng(7);
  private revision = 0n;

  private server: http2.Http2Server | undefined;
  address = "";

  private constructor(private readonly faults: FakeFaults) {}

  static async start(faults: FakeFaults): Promise<FakeNode> {
    const node = new FakeNode(faults);
    const server = http2.createServer(connectNodeAdapter({ routes: (router: ConnectRouter) => node.routes(router) }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    node.server = server;
    node.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return node;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server!.close(() => resolve()));
  }

  private routes(router: ConnectRouter): void {
    router.service(MetadataService, {
      get: (req) => {
        const entry = this.faults.staleReads && this.previous.has(req.key) ? this.previous.get(req.key) : this.kv.get(req.key);
        if (entry === undefined) throw new ConnectError(`key not found: ${req.key}`, Code.NotFound);
        return { kv: { key: req.key, value: entry.value, version: entry.version }, revision: this.revision };
      },
      put: (req) => this.answer(req.requestId, () => this.put(req.key, req.value, req.precondition)) as { version: bigint },
      delete: (req) => this.answer(req.requestId, () => this.delete(req.key, req.precondition)) as { previousVersion: bigint },
    });
  }

  private answer(requestId: string, apply: () => WriteResult): WriteResult {
    let result = this.faults.noDedup ? undefined : this.answered.get(requestId);
    if (result === undefined) {
      result = apply();
      this.answered.set(requestId, result);
      if (!(result instanceof ConnectError) && this.rng.chance(this.faults.ambiguousRate)) throw new ConnectError("leadership lost", Code.Unavailable);
    }
    if (result instanceof ConnectError) throw result;
    return result;
  }

  private check(key: string, pre: Precondition | undefined): ConnectError | undefined {
    const cur = this.kv.get(key);
    const c = pre?.condition;
    const holds = c === undefined || c.case === undefined || (c.case === "doesNotExist" ? cur === undefined : cur !== undefined && cur.version === c.value);
    if (holds) return undefined;
    return new ConnectError("precondition failed", Code.FailedPrecondition, undefined, [
      { desc: PreconditionFailureSchema, value: { key, exists: cur !== undefined, currentVersion: cur?.version ?? 0n } },
    ]);
  }

  private put(key: string, value: Uint8Array, pre: Precondition | undefined): WriteResult {
    const failed = this.check(key, pre);
    if (failed) return failed;
    const version = (this.kv.get(key)?.version ?? 0n) + 1n;
    this.previous.set(key, this.kv.get(key));
    this.kv.set(key, { value, version });
    this.revision++;
    return { version };
  }

  private delete(key: string, pre: Precondition | undefined): WriteResult {
    const cur = this.kv.get(key);
    if (cur === undefined) return new ConnectError(`key not found: ${key}`, Code.NotFound);
    const failed = this.check(key, pre);
    if (failed) return failed;
    this.previous.set(key, cur);
    this.kv.delete(key);
    this.revision++;
    return { previousVersion: cur.version };
  }
}

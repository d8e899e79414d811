// Clients for end-to-end tests, built directly on @omnimeta/proto and connect-node (gRPC over HTTP/2),
// so that the server is tested on its wire contract and not through packages/client.

import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ClusterService, MetadataService, ReadConsistency, type KeyValue } from "@omnimeta/proto";

export interface NodeClients {
  metadata: Client<typeof MetadataService>;
  cluster: Client<typeof ClusterService>;
}

export function clientsFor(address: string, timeoutMs = 10_000): NodeClients {
  const transport = createGrpcTransport({ baseUrl: address, defaultTimeoutMs: timeoutMs });
  return { metadata: createClient(MetadataService, transport), cluster: createClient(ClusterService, transport) };
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b ?? new Uint8Array(0));

/** Retries `fn` until it resolves or `timeoutMs` passes (for operations that need a leader first). */
export async function eventually<T>(what: string, fn: () => Promise<T>, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not done within ${timeoutMs} ms; last error: ${(last as Error)?.message ?? last}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Every key of a node, read locally (serializable), in key order. */
export async function listAll(c: NodeClients): Promise<KeyValue[]> {
  const out: KeyValue[] = [];
  let pageToken = "";
  do {
    const r = await c.metadata.list({ prefix: "", limit: 1000, pageToken, consistency: ReadConsistency.SERIALIZABLE });
    out.push(...r.kvs);
    pageToken = r.nextPageToken;
  } while (pageToken !== "");
  return out;
}

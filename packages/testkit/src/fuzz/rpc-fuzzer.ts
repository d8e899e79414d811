// Sends one FuzzRequest to one node over one of four wire protocols (Connect binary over HTTP/2,
// Connect JSON over HTTP/1.1, gRPC, gRPC-web) and reduces the answer to a Connect code name. Client
// streams (Session, Exchange) need HTTP/2, so they never take the HTTP/1.1 transport.
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { ClusterService, MetadataService, PeerService } from "@omnimeta/proto";
import type { FuzzRequest } from "./arbitraries.ts";

export const PROTOCOLS = ["connect", "connect-json-h1", "grpc", "grpc-web"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

interface Clients {
  metadata: Client<typeof MetadataService>;
  cluster: Client<typeof ClusterService>;
  peer: Client<typeof PeerService>;
}

/** The answer of one call: "ok" or a Connect code name (e.g. "invalid_argument"). */
export type Outcome = string;

export class RpcFuzzer {
  private readonly clients = new Map<string, Clients>();

  constructor(private readonly timeoutMs: number) {}

  private clientsOf(address: string, protocol: Protocol): Clients {
    const k = `${protocol} ${address}`;
    let c = this.clients.get(k);
    if (!c) {
      const t = transportOf(protocol, address);
      c = { metadata: createClient(MetadataService, t), cluster: createClient(ClusterService, t), peer: createClient(PeerService, t) };
      this.clients.set(k, c);
    }
    return c;
  }

  /** Sends `req`; resolves with its outcome and whether a write succeeded (it must be in scratch). */
  async send(address: string, protocol: Protocol, req: FuzzRequest): Promise<Outcome> {
    const streaming = req.rpc === "Session" || req.rpc === "Exchange";
    const proto: Protocol = streaming && protocol === "connect-json-h1" ? "connect" : protocol;
    const c = this.clientsOf(address, proto);
    const opts = { timeoutMs: this.timeoutMs };
    try {
      await call(c, req, opts);
      return "ok";
    } catch (e) {
      const err = ConnectError.from(e);
      return codeName(err.code);
    }
  }
}

async function call(c: Clients, req: FuzzRequest, opts: { timeoutMs: number }): Promise<void> {
  switch (req.rpc) {
    case "Get":
      return void (await c.metadata.get(req.input, opts));
    case "GetVersion":
      return void (await c.metadata.getVersion(req.input, opts));
    case "Put":
      return void (await c.metadata.put(req.input, opts));
    case "Delete":
      return void (await c.metadata.delete(req.input, opts));
    case "List":
      return void (await c.metadata.list(req.input, opts));
    case "Watch":
      return held(req.holdMs, (signal) => c.metadata.watch(req.input, { signal }));
    case "WatchLeader":
      return held(req.holdMs, (signal) => c.cluster.watchLeader({}, { signal }));
    case "Session": {
      const ops = req.input;
      let answers = 0;
      for await (const r of c.metadata.session((async function* () {
        for (const op of ops) yield op;
      })(), opts)) {
        void r;
        if (++answers === ops.length) break;
      }
      return;
    }
    case "Provision":
      return void (await c.cluster.provision({}, opts));
    case "Status":
      return void (await c.cluster.status({}, opts));
    case "ListMembers":
      return void (await c.cluster.listMembers({}, opts));
    case "AddMember":
      return void (await c.cluster.addMember(req.input, opts));
    case "RemoveMember":
      return void (await c.cluster.removeMember(req.input, opts));
    case "Identify":
      return void (await c.peer.identify({}, opts));
    case "Exchange": {
      const msgs = req.input;
      return void (await c.peer.exchange((async function* () {
        for (const m of msgs) yield m;
      })(), opts));
    }
    case "Join":
      return void (await c.peer.join(req.input, opts));
    case "Admit":
      return void (await c.peer.admit(req.input, opts));
  }
}

/** Opens a server stream, reads it for `holdMs`, then cancels it (a cancel is our doing: "ok"). */
async function held(holdMs: number, open: (signal: AbortSignal) => AsyncIterable<unknown>): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), holdMs);
  try {
    for await (const _ of open(abort.signal)) void _;
  } catch (e) {
    if (!(abort.signal.aborted && ConnectError.from(e).code === Code.Canceled)) throw e;
  } finally {
    clearTimeout(timer);
  }
}

function transportOf(protocol: Protocol, baseUrl: string): Transport {
  switch (protocol) {
    case "connect":
      return createConnectTransport({ baseUrl, httpVersion: "2" });
    case "connect-json-h1":
      return createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false });
    case "grpc":
      return createGrpcTransport({ baseUrl });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "2" });
  }
}

export function codeName(code: Code): string {
  return (Code[code] ?? `code_${code}`).replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

// In-process clusters for runtime tests: startNode on port 0 and temp dirs, proto clients over HTTP/2,
// and a cuttable TCP proxy per directed link (through peerRoutes) to partition nodes.

import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ClusterService, MetadataService } from "@omnimeta/proto";
import { freePort } from "@omnimeta/testkit";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { startNode, type MetaNode, type NodeOptions, silentLogger } from "../../src/index.ts";

export interface Clients {
  metadata: Client<typeof MetadataService>;
  cluster: Client<typeof ClusterService>;
}

export function clientsOf(address: string, timeoutMs = 10_000): Clients {
  const transport = createConnectTransport({ baseUrl: address, httpVersion: "2", defaultTimeoutMs: timeoutMs });
  return { metadata: createClient(MetadataService, transport), cluster: createClient(ClusterService, transport) };
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b ?? new Uint8Array(0));

/** Polls `cond` (cheap, in-process state) until true. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Retries `fn` until it resolves (operations that need a settled leader). */
export async function eventually<T>(what: string, fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** A TCP proxy for one directed link; cut() drops its connections and refuses new ones. */
export class LinkProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private isCut = false;
  port = 0;

  constructor(private targetPort: number) {
    this.server = net.createServer((client) => {
      if (this.isCut) return void client.destroy();
      const upstream = net.connect({ host: "127.0.0.1", port: this.targetPort, noDelay: true });
      client.setNoDelay(true);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  retarget(port: number): void {
    this.targetPort = port;
  }

  cut(): void {
    this.isCut = true;
    for (const s of this.sockets) s.destroy();
  }

  heal(): void {
    this.isCut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export interface TestNode {
  name: string;
  port: number;
  dataDir: string;
  node: MetaNode;
  clients: Clients;
}

/**
 * N nodes with fixed ports; when `proxied`, every directed peer link i->j goes through proxies[i][j]
 * (peerRoutes), so tests can partition nodes. Node 0 provisions, the others join it.
 */
export class TestCluster {
  readonly nodes: TestNode[] = [];
  readonly proxies = new Map<string, LinkProxy>();
  private readonly root = mkdtempSync(joinPath(tmpdir(), "omnimeta-rt-"));
  private ports: number[] = [];

  constructor(readonly size: number, readonly proxied = false, readonly extra: Partial<NodeOptions> = {}) {}

  async start(): Promise<this> {
    this.ports = await Promise.all(Array.from({ length: this.size }, () => freePort()));
    if (this.proxied) {
      for (let i = 0; i < this.size; i++) {
        for (let j = 0; j < this.size; j++) {
          if (i === j) continue;
          const p = new LinkProxy(this.ports[j]!);
          await p.listen();
          this.proxies.set(`${i}->${j}`, p);
        }
      }
    }
    for (let i = 0; i < this.size; i++) {
      await this.startNode(i, i === 0 ? [] : [`http://127.0.0.1:${this.ports[0]}`]);
      if (i === 0) await this.nodes[0]!.node.provision();
    }
    await this.settled();
    return this;
  }

  options(i: number, join: string[]): NodeOptions {
    const peerRoutes: Record<string, string> = {};
    if (this.proxied) {
      for (let j = 0; j < this.size; j++) if (j !== i) peerRoutes[`127.0.0.1:${this.ports[j]}`] = `127.0.0.1:${this.proxies.get(`${i}->${j}`)!.port}`;
    }
    return {
      name: `n${i + 1}`,
      dataDir: joinPath(this.root, `n${i + 1}`),
      listen: { host: "127.0.0.1", port: this.ports[i]! },
      join,
      peerRoutes,
      logger: process.env.OMNIMETA_TEST_LOGS ? undefined : silentLogger,
      ...this.extra,
    };
  }

  async startNode(i: number, join: string[] = [`http://127.0.0.1:${this.ports[0]}`], overrides: Partial<NodeOptions> = {}): Promise<TestNode> {
    const options = { ...this.options(i, join), ...overrides };
    const node = await startNode(options);
    const t: TestNode = { name: options.name, port: this.ports[i]!, dataDir: options.dataDir, node, clients: clientsOf(node.address) };
    this.nodes[i] = t;
    return t;
  }

  /** Every running node is active, in the same configuration, and agrees on one leader. */
  async settled(timeoutMs = 30_000): Promise<TestNode> {
    const running = (): TestNode[] => this.nodes.filter((n) => n && !this.stopped.has(n));
    await waitFor("a settled cluster", () => {
      const s = running().map((n) => n.node.status());
      return (
        s.every((x) => x.state === "active") &&
        s[0]!.leaderId !== 0 &&
        s.every((x) => x.leaderId === s[0]!.leaderId && x.configuration?.configurationId === s[0]!.configuration?.configurationId) &&
        s[0]!.configuration!.members.length >= running().length
      );
    }, timeoutMs);
    return this.leader();
  }

  leader(): TestNode {
    const n = this.nodes.find((x) => x && !this.stopped.has(x) && x.node.status().isLeader);
    if (!n) throw new Error("no leader");
    return n;
  }

  followers(): TestNode[] {
    return this.nodes.filter((x) => x && !this.stopped.has(x) && !x.node.status().isLeader);
  }

  readonly stopped = new Set<TestNode>();

  async stop(n: TestNode): Promise<void> {
    this.stopped.add(n);
    await n.node.close();
  }

  /** Cuts every link into and out of node i. */
  isolate(i: number): void {
    for (const [k, p] of this.proxies) if (k.startsWith(`${i}->`) || k.endsWith(`->${i}`)) p.cut();
  }

  healAll(): void {
    for (const p of this.proxies.values()) p.heal();
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.filter((n) => n && !this.stopped.has(n)).map((n) => n.node.close()));
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    rmSync(this.root, { recursive: true, force: true });
  }
}

// A 3-node omnimeta cluster of real metad processes (bin/metad.js), started by testkit's
// ProcessCluster with peers dialling each other directly (no fault proxies) and default settings
// (fsync on). Implements KvTarget over proto/omnimeta/v1 with the same UnaryClient as etcd.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ProcessCluster } from "@omnimeta/testkit";
import type { KvTarget, NodeStatus } from "./kv-target.ts";
import { ProtoPackage, UnaryClient } from "./unary-client.ts";

const PROTO_DIR = fileURLToPath(new URL("../../../../proto", import.meta.url));
const SERVER_PACKAGE = fileURLToPath(new URL("../../package.json", import.meta.url));
/** ReadConsistency.READ_CONSISTENCY_LINEARIZABLE in metadata.proto. */
const LINEARIZABLE = 1;

interface StatusReply {
  address: string;
  isLeader: boolean;
  leaderAddress: string;
  ballot: { n: string } | null;
}

interface Clients {
  metadata: UnaryClient;
  cluster: UnaryClient;
}

const hostPort = (url: string): string => url.replace(/^https?:\/\//, "").replace(/\/$/, "");

export class OmnimetaCluster implements KvTarget {
  readonly system = "omnimeta" as const;
  readonly version = (JSON.parse(readFileSync(SERVER_PACKAGE, "utf8")) as { version: string }).version;
  private readonly clients = new Map<string, Clients>();

  private constructor(private readonly cluster: ProcessCluster) {
    const protos = new ProtoPackage(["omnimeta/v1/metadata.proto", "omnimeta/v1/cluster.proto"], [PROTO_DIR]);
    for (const endpoint of this.endpoints) {
      this.clients.set(endpoint, {
        metadata: new UnaryClient(protos.service("omnimeta.v1.MetadataService"), endpoint),
        cluster: new UnaryClient(protos.service("omnimeta.v1.ClusterService"), endpoint),
      });
    }
  }

  static async start(runDir: string, size = 3): Promise<OmnimetaCluster> {
    return new OmnimetaCluster(await ProcessCluster.start({ size, runDir, direct: true }));
  }

  get endpoints(): string[] {
    return this.cluster.nodes.map((n) => hostPort(n.address));
  }

  private clientsOf(endpoint: string): Clients {
    const c = this.clients.get(endpoint);
    if (c === undefined) throw new Error(`no omnimeta node at ${endpoint}`);
    return c;
  }

  private processOf(endpoint: string) {
    const node = this.cluster.nodes.find((n) => hostPort(n.address) === endpoint);
    if (node === undefined) throw new Error(`no omnimeta node at ${endpoint}`);
    return node;
  }

  pidOf(endpoint: string): number | undefined {
    return this.processOf(endpoint).pid;
  }

  async put(endpoint: string, key: string, value: Buffer, requestId: string, timeoutMs: number): Promise<void> {
    await this.clientsOf(endpoint).metadata.call("Put", { key, value, requestId }, timeoutMs);
  }

  async get(endpoint: string, key: string, timeoutMs: number): Promise<void> {
    const r = await this.clientsOf(endpoint).metadata.call<{ kv: unknown }>("Get", { key, consistency: LINEARIZABLE }, timeoutMs);
    if (r.kv === null) throw new Error(`omnimeta Get of ${key}: no key`);
  }

  async status(endpoint: string, timeoutMs: number): Promise<NodeStatus> {
    const r = await this.clientsOf(endpoint).cluster.call<StatusReply>("Status", {}, timeoutMs);
    const leaderEndpoint = r.leaderAddress === "" ? undefined : hostPort(r.leaderAddress);
    return { endpoint, isLeader: r.isLeader, leaderEndpoint, term: r.ballot?.n ?? "0" };
  }

  async kill(endpoint: string): Promise<void> {
    await this.processOf(endpoint).kill();
  }

  async close(options: { keepData?: boolean } = {}): Promise<void> {
    for (const c of this.clients.values()) {
      c.metadata.close();
      c.cluster.close();
    }
    await this.cluster.close(options);
  }
}

// A 3-node etcd cluster from Debian's etcd-server package (/usr/bin/etcd) on loopback: free ports,
// data dirs under the run dir, default settings (fsync on; no --unsafe-no-fsync). Implements KvTarget
// over the checked-in etcd-kv.proto subset.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, trackChild, waitFor } from "@omnimeta/testkit";
import type { KvTarget, NodeStatus } from "./kv-target.ts";
import { ProtoPackage, UnaryClient } from "./unary-client.ts";

export const ETCD_BIN = "/usr/bin/etcd";

const PROTO = fileURLToPath(new URL("./etcd-kv.proto", import.meta.url));

interface EtcdNode {
  name: string;
  endpoint: string;
  peerUrl: string;
  child: ChildProcess | undefined;
  exited: Promise<void>;
  kv: UnaryClient;
  maintenance: UnaryClient;
  /** The member id, learnt from a Status header. */
  memberId: string | undefined;
}

interface StatusReply {
  header: { memberId: string; raftTerm: string };
  leader: string;
  raftTerm: string;
  version: string;
}

export function etcdInstalled(): boolean {
  return existsSync(ETCD_BIN);
}

export class EtcdCluster implements KvTarget {
  readonly system = "etcd" as const;
  version = "";

  private constructor(
    private readonly runDir: string,
    private readonly nodes: EtcdNode[],
  ) {}

  get endpoints(): string[] {
    return this.nodes.map((n) => n.endpoint);
  }

  static async start(runDir: string, size = 3): Promise<EtcdCluster> {
    mkdirSync(runDir, { recursive: true });
    const protos = new ProtoPackage([PROTO], []);
    const nodes: EtcdNode[] = [];
    for (let i = 1; i <= size; i++) {
      const endpoint = `127.0.0.1:${await freePort()}`;
      const peerUrl = `http://127.0.0.1:${await freePort()}`;
      const kv = new UnaryClient(protos.service("etcdserverpb.KV"), endpoint);
      const maintenance = new UnaryClient(protos.service("etcdserverpb.Maintenance"), endpoint);
      nodes.push({ name: `e${i}`, endpoint, peerUrl, child: undefined, exited: Promise.resolve(), kv, maintenance, memberId: undefined });
    }
    const cluster = new EtcdCluster(runDir, nodes);
    const initialCluster = nodes.map((n) => `${n.name}=${n.peerUrl}`).join(",");
    const token = `bench-${process.pid}-${Date.now()}`;
    for (const node of nodes) cluster.spawnNode(node, initialCluster, token);
    try {
      await cluster.waitHealthy(30_000);
    } catch (e) {
      await cluster.close({ keepData: true });
      throw new Error(`etcd did not start (node logs in ${runDir}; --keep keeps them): ${(e as Error).message}`);
    }
    return cluster;
  }

  private spawnNode(node: EtcdNode, initialCluster: string, token: string): void {
    const args = [
      "--name", node.name,
      "--data-dir", join(this.runDir, node.name),
      "--listen-client-urls", `http://${node.endpoint}`,
      "--advertise-client-urls", `http://${node.endpoint}`,
      "--listen-peer-urls", node.peerUrl,
      "--initial-advertise-peer-urls", node.peerUrl,
      "--initial-cluster", initialCluster,
      "--initial-cluster-token", token,
      "--initial-cluster-state", "new",
      "--logger", "zap",
      "--log-outputs", "stderr",
    ];
    const child = spawn(ETCD_BIN, args, { stdio: ["ignore", "ignore", "pipe"] });
    trackChild(child);
    child.stderr!.pipe(createWriteStream(join(this.runDir, `${node.name}.log`)));
    node.child = child;
    node.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.once("exit", () => {
      if (node.child === child) node.child = undefined;
    });
  }

  /** Every node answers Status, and all name the same leader. */
  private async waitHealthy(timeoutMs: number): Promise<void> {
    await waitFor("an etcd cluster with one leader", async () => {
      const replies = await Promise.all(this.nodes.map((n) => n.maintenance.call<StatusReply>("Status", {}, 1000)));
      replies.forEach((r, i) => (this.nodes[i]!.memberId = r.header.memberId));
      this.version = replies[0]!.version;
      const leaders = new Set(replies.map((r) => r.leader));
      return leaders.size === 1 && !leaders.has("0") ? true : undefined;
    }, timeoutMs, 200);
  }

  private node(endpoint: string): EtcdNode {
    const node = this.nodes.find((n) => n.endpoint === endpoint);
    if (node === undefined) throw new Error(`no etcd node at ${endpoint}`);
    return node;
  }

  pidOf(endpoint: string): number | undefined {
    return this.node(endpoint).child?.pid;
  }

  async put(endpoint: string, key: string, value: Buffer, _requestId: string, timeoutMs: number): Promise<void> {
    await this.node(endpoint).kv.call("Put", { key: Buffer.from(key), value }, timeoutMs);
  }

  async get(endpoint: string, key: string, timeoutMs: number): Promise<void> {
    const r = await this.node(endpoint).kv.call<{ kvs: unknown[] }>("Range", { key: Buffer.from(key), serializable: false }, timeoutMs);
    if (r.kvs.length !== 1) throw new Error(`etcd Range of ${key}: ${r.kvs.length} keys`);
  }

  async status(endpoint: string, timeoutMs: number): Promise<NodeStatus> {
    const node = this.node(endpoint);
    const r = await node.maintenance.call<StatusReply>("Status", {}, timeoutMs);
    node.memberId = r.header.memberId;
    const leader = this.nodes.find((n) => n.memberId === r.leader);
    return { endpoint, isLeader: r.leader === r.header.memberId, leaderEndpoint: leader?.endpoint, term: r.raftTerm };
  }

  async kill(endpoint: string): Promise<void> {
    const node = this.node(endpoint);
    node.child?.kill("SIGKILL");
    await node.exited;
  }

  async close(options: { keepData?: boolean } = {}): Promise<void> {
    for (const node of this.nodes) {
      node.kv.close();
      node.maintenance.close();
    }
    await Promise.all(this.nodes.map((n) => this.kill(n.endpoint)));
    if (!options.keepData) rmSync(this.runDir, { recursive: true, force: true });
  }
}

// A cluster of N real metad processes whose peer traffic goes through per-link fault proxies.
// It provisions n1, lets the others join, and offers the nemesis its levers: kill, restart,
// pause, resume, remove-and-rejoin, and the link faults of its LinkNetwork. close() cleans up all.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeState, type StatusResponse } from "@omnimeta/proto";
import { freePort } from "./free-port.ts";
import { LinkNetwork } from "./link-network.ts";
import { MetadProcess } from "./metad-process.ts";
import { NodeClient } from "./node-client.ts";
import { waitFor } from "../util/wait-for.ts";

export interface ProcessClusterOptions {
  size: number;
  /** Where data dirs and logs go; default a new dir under the OS temp dir. */
  runDir?: string;
  /** OMNIMETA_UNSAFE for every node. */
  unsafe?: string;
  /** Extra metad flags for every node (e.g. ["--tick-ms", "10"]). */
  nodeArgs?: string[];
  /** Peers dial each other directly, not through the link proxies (link faults then do nothing). */
  direct?: boolean;
}

export class ProcessCluster {
  readonly clients = new Map<string, NodeClient>();

  private constructor(
    readonly runDir: string,
    readonly nodes: MetadProcess[],
    readonly network: LinkNetwork,
  ) {
    for (const node of nodes) this.clients.set(node.name, new NodeClient(node.address));
  }

  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const runDir = options.runDir ?? mkdtempSync(join(tmpdir(), "omnimeta-cluster-"));
    const names = Array.from({ length: options.size }, (_, i) => `n${i + 1}`);
    const ports = new Map<string, number>();
    for (const name of names) ports.set(name, await freePort());
    const network = await LinkNetwork.start(ports);
    const nodes = names.map((name) => {
      const dataDir = join(runDir, name);
      mkdirSync(dataDir, { recursive: true });
      const routes = options.direct ? [] : network.peerRoutesOf(name, (n) => `127.0.0.1:${ports.get(n)}`);
      const args = routes.flatMap((r) => ["--peer-route", r]);
      return new MetadProcess({ name, port: ports.get(name)!, dataDir, logPath: join(runDir, `${name}.log`), args: [...args, ...(options.nodeArgs ?? [])], unsafe: options.unsafe ?? "" });
    });
    const cluster = new ProcessCluster(runDir, nodes, network);
    try {
      await cluster.bootstrap();
    } catch (e) {
      await cluster.close({ keepData: true });
      throw new Error(`cluster did not start (logs in ${runDir}): ${(e as Error).message}`);
    }
    return cluster;
  }

  private async bootstrap(): Promise<void> {
    const [first, ...rest] = this.nodes;
    await first.start();
    await this.client(first.name).cluster.provision({}, { timeoutMs: 10_000 });
    for (const node of rest) node.nextStartArgs = ["--join", first.address];
    await Promise.all(rest.map((n) => n.start()));
    await this.waitHealthy(60_000);
  }

  node(name: string): MetadProcess {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  client(name: string): NodeClient {
    return this.clients.get(name)!;
  }

  async status(name: string, timeoutMs = 1000): Promise<StatusResponse> {
    return this.client(name).cluster.status({}, { timeoutMs });
  }

  /** The node that reports itself leader (asked directly), if any answers so. */
  async leader(): Promise<string | undefined> {
    const running = this.nodes.filter((n) => n.state === "running");
    const answers = await Promise.all(running.map((n) => this.status(n.name).then((s) => (s.isLeader ? n.name : undefined), () => undefined)));
    return answers.find((a) => a !== undefined);
  }

  /**
   * Every node is running, active, in the same configuration of `size` members, and agrees on one
   * leader that has applied everything it decided.
   */
  async waitHealthy(timeoutMs: number): Promise<void> {
    await waitFor("a healthy cluster (all nodes active, one leader, same configuration)", async () => {
      if (this.nodes.some((n) => n.state !== "running")) return undefined;
      const statuses = await Promise.all(this.nodes.map((n) => this.status(n.name)));
      const leaders = new Set(statuses.map((s) => s.leaderId));
      const configs = new Set(statuses.map((s) => s.configuration?.configurationId));
      const ok =
        statuses.every((s) => s.state === NodeState.ACTIVE && s.leaderId !== 0n && (s.configuration?.members.length ?? 0) === this.nodes.length) &&
        leaders.size === 1 &&
        configs.size === 1 &&
        statuses.filter((s) => s.isLeader).length === 1;
      return ok ? true : undefined;
    }, timeoutMs, 200);
  }

  async kill(name: string): Promise<void> {
    await this.node(name).kill();
  }

  async restart(name: string): Promise<void> {
    await this.node(name).start();
  }

  pause(name: string): void {
    this.node(name).pause();
  }

  resume(name: string): void {
    this.node(name).resume();
  }

  /**
   * Removes `name` from the configuration (RemoveMember, asked at another node) and waits until it
   * is out; then kills it and wipes its data dir (a removed incarnation never comes back), and adds
   * it again as a new member: either it joins by itself (`--join`) or it starts unprovisioned and a
   * member is asked to add it (AddMember).
   */
  async removeAndReadd(name: string, how: "join" | "add-member", timeoutMs = 60_000): Promise<void> {
    const others = this.nodes.filter((n) => n.name !== name);
    let attempt = 0;
    const askOther = () => this.client(others[attempt++ % others.length].name).cluster;
    await waitFor(`removal of ${name}`, async () => {
      const r = await askOther().removeMember({ name }, { timeoutMs: 5000 });
      return r.configuration?.members.some((m) => m.name === name) ? undefined : true;
    }, timeoutMs, 500);
    await this.kill(name);
    const node = this.node(name);
    rmSync(node.spec.dataDir, { recursive: true, force: true });
    node.incarnation++;
    mkdirSync(node.spec.dataDir, { recursive: true });
    if (how === "join") node.nextStartArgs = ["--join", others.map((n) => n.address).join(",")];
    await node.start();
    if (how === "add-member") {
      // An AddMember that timed out may still have happened: look before asking again.
      await waitFor(`AddMember of ${name}`, async () => {
        const { configuration } = await askOther().listMembers({}, { timeoutMs: 2000 });
        if (configuration?.members.some((m) => m.name === name)) return true;
        await askOther().addMember({ address: node.address }, { timeoutMs: 10_000 });
        return undefined;
      }, timeoutMs, 500);
    }
    await this.waitHealthy(timeoutMs);
  }

  /**
   * Brings back every node that is not a member any more (e.g. removed while another fault hit
   * the re-add): it is wiped and joins again. Used after compound faults and before final reads.
   */
  async repairMembership(timeoutMs = 60_000): Promise<string[]> {
    const repaired: string[] = [];
    for (const node of this.nodes) {
      if (node.state !== "running") continue;
      const status = await this.status(node.name, 2000).catch(() => undefined);
      if (status === undefined || status.state === NodeState.ACTIVE || status.state === NodeState.JOINING) continue;
      const others = this.nodes.filter((n) => n !== node);
      await this.kill(node.name);
      rmSync(node.spec.dataDir, { recursive: true, force: true });
      node.incarnation++;
      mkdirSync(node.spec.dataDir, { recursive: true });
      node.nextStartArgs = ["--join", others.map((n) => n.address).join(",")];
      await node.start();
      repaired.push(node.name);
    }
    if (repaired.length > 0) await this.waitHealthy(timeoutMs);
    return repaired;
  }

  /** Stops every process (SIGKILL), closes proxies and clients; keepData leaves the run dir. */
  async close(options: { keepData?: boolean } = {}): Promise<void> {
    for (const client of this.clients.values()) client.close();
    await Promise.all(this.nodes.map((n) => n.kill()));
    await Promise.all(this.nodes.map((n) => n.closeLog()));
    await this.network.close();
    if (!options.keepData) rmSync(this.runDir, { recursive: true, force: true });
  }
}

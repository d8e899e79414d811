// A cluster of real metad processes on random free ports and temp data dirs: provisions the first
// node, lets the others auto-join with --join, and tears everything down (processes and dirs).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeState } from "@omnimeta/proto";
import { clientsFor, eventually, type NodeClients } from "./clients.ts";
import { freePort, MetadProcess } from "./metad-process.ts";

export class ProcessCluster {
  readonly nodes: MetadProcess[] = [];
  readonly root: string;

  constructor(private readonly extraArgs: string[] = [], private readonly env?: Record<string, string>) {
    this.root = mkdtempSync(join(tmpdir(), "omnimeta-e2e-"));
  }

  /** Adds (does not start) a node named n<k>, joining the first node unless it is the first. */
  async addNode(options: { join?: string[]; extraArgs?: string[] } = {}): Promise<MetadProcess> {
    const name = `n${this.nodes.length + 1}`;
    const node = new MetadProcess({
      name,
      dataDir: join(this.root, name),
      port: await freePort(),
      join: options.join ?? (this.nodes.length > 0 ? [this.nodes[0]!.address] : []),
      extraArgs: [...this.extraArgs, ...(options.extraArgs ?? [])],
      ...(this.env ? { env: this.env } : {}),
    });
    this.nodes.push(node);
    return node;
  }

  clients(i: number): NodeClients {
    return clientsFor(this.nodes[i]!.address);
  }

  /**
   * Starts `count` nodes, provisions the first, and waits until every node is an active member.
   * The joiners start all at once (as `npm start` does) or, with `sequential`, one after another.
   */
  async startProvisioned(count: number, options: { sequential?: boolean } = {}): Promise<void> {
    for (let i = 0; i < count; i++) await this.addNode();
    await this.nodes[0]!.start();
    await this.clients(0).cluster.provision({});
    if (options.sequential) {
      for (let i = 1; i < count; i++) {
        await this.nodes[i]!.start();
        await this.waitForMembers(i + 1);
      }
    } else {
      await Promise.all(this.nodes.slice(1).map((n) => n.start()));
      await this.waitForMembers(count);
    }
    await this.leaderIndex(); // every node agrees on one leader
  }

  /** Waits until every running node reports ACTIVE in a configuration with `count` members and a leader. */
  async waitForMembers(count: number, timeoutMs = 30_000): Promise<void> {
    await this.withLogsOnFailure(eventually(`${count} active members`, async () => {
      for (const n of this.nodes.filter((x) => x.running)) {
        const s = await clientsFor(n.address, 2000).cluster.status({});
        if (s.state !== NodeState.ACTIVE) throw new Error(`${n.options.name} is ${NodeState[s.state]} (${s.stateDetail})`);
        if ((s.configuration?.members.length ?? 0) !== count) throw new Error(`${n.options.name} sees ${s.configuration?.members.length} members`);
        if (s.leaderId === 0n) throw new Error(`${n.options.name} knows no leader`);
      }
    }, timeoutMs));
  }

  /** Adds the last log lines of every node to a failure, so a failed run explains itself. */
  async withLogsOnFailure<T>(p: Promise<T>, lines = 8): Promise<T> {
    try {
      return await p;
    } catch (e) {
      const logs = this.nodes.map((n) => `--- ${n.options.name} (${n.running ? "running" : "down"}):\n${n.logs.slice(-lines).join("\n")}`).join("\n");
      throw new Error(`${(e as Error).message}\n${logs}`);
    }
  }

  /** The index of the node that the running nodes agree is the leader. */
  async leaderIndex(timeoutMs = 20_000): Promise<number> {
    return eventually("an agreed leader", async () => {
      const running = this.nodes.filter((x) => x.running);
      const statuses = await Promise.all(running.map((n) => clientsFor(n.address, 2000).cluster.status({})));
      const leader = statuses.find((s) => s.isLeader);
      if (!leader) throw new Error("no node is leader");
      if (statuses.some((s) => s.leaderId !== leader.nodeId)) throw new Error("nodes disagree on the leader");
      return this.nodes.findIndex((n) => n.address === leader.address);
    }, timeoutMs);
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill("SIGKILL")));
    rmSync(this.root, { recursive: true, force: true });
  }
}

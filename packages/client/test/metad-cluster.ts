// Real metad processes for integration tests: random free ports, temp data dirs, readiness from
// the "listening" log line, SIGKILL and restart, and close() that kills every child.

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { once } from "node:events";

export const repoRoot = resolve(import.meta.dirname, "../../..");
const metadBin = join(repoRoot, "packages/server/bin/metad.js");
const readyTimeoutMs = 30_000;

export interface MetadNode {
  name: string;
  port: number;
  address: string;
  dataDir: string;
  child: ChildProcess | undefined;
  log: string[];
}

// The testkit's port allocator, by path: the testkit depends on this package, so not by name.
import { freePort } from "../../testkit/src/cluster/free-port.ts";
export { freePort };

export class MetadCluster {
  readonly nodes = new Map<string, MetadNode>();
  private readonly root = mkdtempSync(join(tmpdir(), "omnimeta-it-"));

  /** Starts (or restarts) node `name`; resolves once it logs that it is listening. */
  async start(name: string, join: readonly string[] = []): Promise<MetadNode> {
    let node = this.nodes.get(name);
    if (node === undefined) {
      const port = await freePort();
      node = { name, port, address: `http://127.0.0.1:${port}`, dataDir: `${this.root}/${name}`, child: undefined, log: [] };
      this.nodes.set(name, node);
    }
    const args = [metadBin, "--name", name, "--data-dir", node.dataDir, "--listen", `127.0.0.1:${node.port}`, "--advertise", node.address];
    if (join.length > 0) args.push("--join", join.join(","));
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], cwd: repoRoot });
    node.child = child;
    await waitListening(node, child);
    return node;
  }

  node(name: string): MetadNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  addresses(): string[] {
    return [...this.nodes.values()].map((n) => n.address);
  }

  /** Sends `signal` and waits until the process is gone. */
  async kill(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.node(name).child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill(signal);
    await exited;
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map((n) => this.kill(n)));
    rmSync(this.root, { recursive: true, force: true });
  }
}

function waitListening(node: MetadNode, child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => fail(new Error(`metad ${node.name} not listening after ${readyTimeoutMs} ms`)), readyTimeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${err.message}\n--- ${node.name} log ---\n${node.log.slice(-20).join("\n")}`));
    };
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        node.log.push(line);
        if (node.log.length > 500) node.log.shift();
        if (/"msg":"listening"/.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    child.once("exit", (code, signal) => fail(new Error(`metad ${node.name} exited (${signal ?? code}) before listening`)));
  });
}

/** Polls `probe` (with a short backoff) until it returns true, or throws after `timeoutMs`. */
export async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  let waitMs = 20;
  let last: unknown;
  while (performance.now() < until) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, waitMs));
    waitMs = Math.min(500, waitMs * 2);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

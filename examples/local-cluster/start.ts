// `npm start`: a local 3-node omnimeta cluster from the configs next to this file. Starts three metad
// processes (logs and data under examples/local-cluster/data/, git-ignored), provisions n1 if it is
// new, lets n2 and n3 auto-join, waits until all three are members and prints what to try.
// Ctrl-C stops all three cleanly (SIGTERM); running it again reuses the data.

import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ClusterService, NodeState } from "@omnimeta/proto";

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = join(here, "..", "..");
// For tests: another data root and other ports than the configs' 7001-7003.
const dataRoot = process.env.OMNIMETA_START_DATA ?? join(here, "data");
const portOverride = process.env.OMNIMETA_START_PORTS?.split(",").map(Number);
// The binary users run (a cached bundle of packages/server/src/main.ts, not the TypeScript loader).
const metadBin = join(repoRoot, "packages", "server", "bin", "metad.js");
const names = ["n1", "n2", "n3"];

interface NodeConfig {
  name: string;
  listen: string;
  advertise: string;
}

interface Running {
  config: NodeConfig;
  child: ChildProcess;
  exited: Promise<number | null>;
  lastLines: string[];
}

function startNode(name: string): Running {
  const configPath = join(here, `${name}.json`);
  const config = JSON.parse(readFileSync(configPath, "utf8")) as NodeConfig;
  const overrides: string[] = [];
  if (portOverride) {
    const port = portOverride[names.indexOf(name)]!;
    config.listen = `127.0.0.1:${port}`;
    config.advertise = `http://127.0.0.1:${port}`;
    overrides.push("--listen", config.listen, "--advertise", config.advertise);
    if (name !== names[0]) overrides.push("--join", `http://127.0.0.1:${portOverride[0]}`);
  }
  const dataDir = join(dataRoot, name);
  mkdirSync(dataDir, { recursive: true });
  const logPath = join(dataRoot, `${name}.log`);
  const log = createWriteStream(logPath, { flags: "a" });
  const child = spawn(process.execPath, [metadBin, "--config", configPath, "--data-dir", dataDir, ...overrides], {
    cwd: repoRoot,
    stdio: ["ignore", "ignore", "pipe"],
    // Own process group: Ctrl-C reaches only this script, which then stops the nodes with SIGTERM.
    detached: true,
  });
  process.on("exit", () => child.kill("SIGKILL"));
  const running: Running = { config, child, lastLines: [], exited: new Promise((r) => child.once("exit", (code) => r(code))) };
  let partial = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    log.write(chunk);
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop()!;
    running.lastLines.push(...lines);
    if (running.lastLines.length > 20) running.lastLines.splice(0, running.lastLines.length - 20);
  });
  return running;
}

function waitForListening(node: Running, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${node.config.name} did not start within ${timeoutMs} ms`)), timeoutMs);
    const check = (chunk: string) => {
      if (chunk.includes('"msg":"listening"') || node.lastLines.some((l) => l.includes('"msg":"listening"'))) {
        clearTimeout(timer);
        node.child.stderr!.off("data", check);
        resolve();
      }
    };
    node.child.stderr!.on("data", check);
    void node.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${node.config.name} exited with code ${code}:\n  ${node.lastLines.slice(-5).join("\n  ")}`));
    });
  });
}

function clusterClient(address: string) {
  return createClient(ClusterService, createGrpcTransport({ baseUrl: address, defaultTimeoutMs: 3000 }));
}

async function waitForThreeMembers(nodes: Running[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const statuses = await Promise.all(nodes.map((n) => clusterClient(n.config.advertise).status({})));
      const ready = statuses.every((s) => s.state === NodeState.ACTIVE && s.configuration?.members.length === 3 && s.leaderId !== 0n);
      if (ready) return;
      last = statuses.map((s) => `${s.name}: ${NodeState[s.state]}${s.stateDetail ? ` (${s.stateDetail})` : ""}`).join(", ");
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the cluster did not form within ${timeoutMs / 1000} s: ${last}`);
}

async function stopAll(nodes: Running[]): Promise<void> {
  for (const n of nodes) if (n.child.exitCode === null) n.child.kill("SIGTERM");
  const timer = setTimeout(() => nodes.forEach((n) => n.child.kill("SIGKILL")), 10_000);
  await Promise.all(nodes.map((n) => n.exited));
  clearTimeout(timer);
}

async function main(): Promise<void> {
  mkdirSync(dataRoot, { recursive: true });
  const nodes = names.map(startNode);
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping n1, n2, n3 ...");
    await stopAll(nodes);
    console.log("stopped; run `npm start` again to restart with the same data");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
  try {
    await Promise.all(nodes.map((n) => waitForListening(n)));
    const first = clusterClient(nodes[0]!.config.advertise);
    const status = await first.status({});
    if (status.state === NodeState.UNPROVISIONED) {
      const r = await first.provision({});
      console.log(`provisioned a new cluster ${r.clusterId} on n1`);
    } else {
      console.log(`reusing the data in ${dataRoot} (cluster ${status.clusterId})`);
    }
    await waitForThreeMembers(nodes);
  } catch (e) {
    console.error(`npm start failed: ${(e as Error).message}`);
    await shutdown(1);
    return;
  }
  for (const n of nodes) {
    void n.exited.then((code) => {
      if (stopping) return;
      console.error(`${n.config.name} exited unexpectedly (code ${code}); last log lines:\n  ${n.lastLines.slice(-5).join("\n  ")}`);
      void shutdown(1);
    });
  }
  const addresses = nodes.map((n) => n.config.advertise);
  console.log(`
omnimeta is running: 3 nodes, all members
  ${nodes.map((n) => `${n.config.name}  ${n.config.advertise}   log: ${join(dataRoot, `${n.config.name}.log`)}`).join("\n  ")}

try (in another terminal):
  npx ctl cluster status
  npx ctl metadata put hello world
  npx ctl metadata get hello
  npx ctl metadata watch --prefix he
  npx ctl members list
  npx ctl leader watch
  curl -s ${addresses[0]}/metrics | head

Ctrl-C stops all three nodes.`);
}

await main();

// A local 3-node omnimeta cluster over TLS: clients must show a certificate from the example CA, and
// nodes talk to each other over mutual TLS. Run `bash examples/tls/make-certs.sh` first (openssl), then
// `node --import tsx examples/tls/start.ts`. Data and logs go to examples/tls/data/ (git-ignored);
// Ctrl-C stops the nodes (SIGTERM); `kill -HUP <pid>` makes a node reload its certificate files.

import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ClusterService, NodeState } from "@omnimeta/proto";

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = join(here, "..", "..");
const certs = join(here, "certs");
const dataRoot = join(here, "data");
const metadBin = join(repoRoot, "packages", "server", "bin", "metad.js");
const names = ["n1", "n2", "n3"];
const addresses = names.map((_, i) => `https://127.0.0.1:${7101 + i}`);

function startNode(name: string): { child: ChildProcess; exited: Promise<number | null>; tail: string[] } {
  mkdirSync(dataRoot, { recursive: true });
  const log = createWriteStream(join(dataRoot, `${name}.log`), { flags: "a" });
  const child = spawn(process.execPath, [metadBin, "--config", join(here, `${name}.json`)], { cwd: repoRoot, stdio: ["ignore", "ignore", "pipe"], detached: true });
  process.on("exit", () => child.kill("SIGKILL"));
  const tail: string[] = [];
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    log.write(chunk);
    tail.push(...chunk.split("\n").filter((l) => l !== ""));
    tail.splice(0, Math.max(0, tail.length - 5));
  });
  return { child, tail, exited: new Promise((r) => child.once("exit", (code) => r(code))) };
}

const tls = () => ({ ca: readFileSync(join(certs, "ca.pem")), cert: readFileSync(join(certs, "client.pem")), key: readFileSync(join(certs, "client-key.pem")) });
const cluster = (address: string) => createClient(ClusterService, createGrpcTransport({ baseUrl: address, defaultTimeoutMs: 2000, nodeOptions: tls() }));

async function waitForCluster(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  let provisioned = false;
  while (Date.now() < deadline) {
    try {
      if (!provisioned) {
        const r = await cluster(addresses[0]!).provision({});
        console.log(r.alreadyProvisioned ? `reusing the data in ${dataRoot} (cluster ${r.clusterId})` : `provisioned a new cluster ${r.clusterId} on n1`);
        provisioned = true;
      }
      const statuses = await Promise.all(addresses.map((a) => cluster(a).status({})));
      if (statuses.every((s) => s.state === NodeState.ACTIVE && s.configuration?.members.length === 3 && s.leaderId !== 0n)) return;
      last = statuses.map((s) => `${s.name}: ${NodeState[s.state]}${s.stateDetail ? ` (${s.stateDetail})` : ""}`).join(", ");
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the TLS cluster did not form within ${timeoutMs / 1000} s: ${last}`);
}

async function main(): Promise<void> {
  if (!existsSync(join(certs, "ca.pem"))) {
    console.error("no certificates yet: run `bash examples/tls/make-certs.sh` first");
    process.exit(1);
  }
  const nodes = names.map(startNode);
  const stop = async (code: number): Promise<never> => {
    for (const n of nodes) if (n.child.exitCode === null) n.child.kill("SIGTERM");
    await Promise.all(nodes.map((n) => n.exited));
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  for (const [i, n] of nodes.entries()) {
    void n.exited.then((code) => {
      console.error(`${names[i]} exited (code ${code}):\n  ${n.tail.join("\n  ")}`);
      void stop(1);
    });
  }
  try {
    await waitForCluster();
  } catch (e) {
    console.error((e as Error).message);
    await stop(1);
  }
  const flags = "--ca examples/tls/certs/ca.pem --cert examples/tls/certs/client.pem --key examples/tls/certs/client-key.pem";
  console.log(`a 3-node TLS cluster is up: ${addresses.join(", ")} (pids ${nodes.map((n) => n.child.pid).join(", ")})`);
  console.log(`try:\n  export CTL_ADDRESS=${addresses.join(",")}\n  npx ctl ${flags} cluster status\n  npx ctl ${flags} metadata put hello world`);
  console.log("Ctrl-C stops the cluster");
}

void main();

// `npm start` (examples/local-cluster/start.ts) as a user runs it, on free ports and a temp data root:
// it forms a 3-node cluster, Ctrl-C (SIGINT) stops all three cleanly, and a second start reuses the data.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeState } from "@omnimeta/proto";
import { freePort, REPO_ROOT } from "./metad-process.ts";
import { clientsFor, eventually, text, utf8 } from "./clients.ts";

const dataRoot = mkdtempSync(join(tmpdir(), "omnimeta-start-test-"));
const children: ChildProcess[] = [];
after(async () => {
  // SIGTERM lets start.ts stop its (detached) metad processes; SIGKILL only if it does not exit.
  await Promise.all(
    children.filter((c) => c.exitCode === null && c.signalCode === null).map(async (c) => {
      const exit = once(c, "exit");
      c.kill("SIGTERM");
      const timer = setTimeout(() => c.kill("SIGKILL"), 20_000);
      await exit;
      clearTimeout(timer);
    }),
  );
  rmSync(dataRoot, { recursive: true, force: true });
});

/** Runs start.ts until it prints its banner; returns the process and everything it printed. */
async function start(ports: number[]): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "examples", "local-cluster", "start.ts")], {
    cwd: REPO_ROOT,
    env: { ...process.env, OMNIMETA_START_DATA: dataRoot, OMNIMETA_START_PORTS: ports.join(",") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (out += c));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 90 s:\n${out}`)), 90_000);
    child.stdout!.on("data", () => {
      if (out.includes("Ctrl-C stops all three nodes")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`start.ts exited (code ${code}, signal ${signal}):\n${out}`));
    });
  });
  return { child, output: () => out };
}

async function interrupt(child: ChildProcess): Promise<number | null> {
  const exit = once(child, "exit");
  child.kill("SIGINT");
  const [code] = (await exit) as [number | null];
  return code;
}

test("npm start forms a 3-node cluster, stops cleanly on Ctrl-C and reuses its data", { timeout: 180_000 }, async () => {
  const ports = [await freePort(), await freePort(), await freePort()];
  const first = await start(ports);
  assert.match(first.output(), /provisioned a new cluster/);
  for (const p of ports) assert.match(first.output(), new RegExp(`http://127\\.0\\.0\\.1:${p}`));
  assert.match(first.output(), /npx ctl cluster status/);
  const statuses = await Promise.all(ports.map((p) => clientsFor(`http://127.0.0.1:${p}`).cluster.status({})));
  for (const s of statuses) {
    assert.equal(s.state, NodeState.ACTIVE);
    assert.equal(s.configuration?.members.length, 3);
  }
  // Right after the cluster forms, leadership may still move once: retry like any client.
  await eventually("put hello", () => clientsFor(`http://127.0.0.1:${ports[1]}`).metadata.put({ key: "hello", value: utf8("world"), requestId: "start-test" }));
  assert.equal(await interrupt(first.child), 0);
  assert.match(first.output(), /stopped; run `npm start` again/);

  const second = await start(ports);
  assert.match(second.output(), /reusing the data/);
  assert.doesNotMatch(second.output(), /provisioned a new cluster/);
  const got = await eventually("get hello", () => clientsFor(`http://127.0.0.1:${ports[2]}`).metadata.get({ key: "hello" }));
  assert.equal(text(got.kv?.value), "world");
  assert.equal(await interrupt(second.child), 0);
});

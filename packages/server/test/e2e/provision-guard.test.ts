// No second cluster by accident, on real processes: a node started with --join provisions itself only
// after asking those peers, refuses while one cannot be reached (until --force-new-cluster) and refuses
// when one is a member already. The refusals are checked on the wire and through the ctl binary.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { NodeState } from "@omnimeta/proto";
import { clientsFor, eventually, utf8 } from "./clients.ts";
import { freePort, MetadProcess, REPO_ROOT } from "./metad-process.ts";
import { ProcessCluster } from "./process-cluster.ts";

const root = mkdtempSync(join(tmpdir(), "omnimeta-provision-"));
const processes: MetadProcess[] = [];
const clusters: ProcessCluster[] = [];
after(async () => {
  await Promise.all(processes.map((p) => p.kill("SIGKILL")));
  await Promise.all(clusters.map((c) => c.close()));
  rmSync(root, { recursive: true, force: true });
});

async function startNode(name: string, join: string[], dataDir = `${root}/${name}`): Promise<MetadProcess> {
  const node = new MetadProcess({ name, dataDir, port: await freePort(), join });
  processes.push(node);
  await node.start();
  return node;
}

/** Runs the ctl binary; its exit code and output. */
async function ctl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, "packages/ctl/bin/ctl.js"), ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

async function provisionError(address: string): Promise<ConnectError> {
  const err = await clientsFor(address).cluster.provision({}).then(() => undefined, (e: unknown) => ConnectError.from(e));
  assert.ok(err, "provision was expected to be refused");
  return err;
}

function assertOneLine(stderr: string): void {
  assert.equal(stderr.trimEnd().split("\n").length, 1, `one line on stderr, got: ${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
}

test("a node whose --join peer cannot be reached refuses to provision, names the peer, and writes nothing", async () => {
  const deadPeer = `http://127.0.0.1:${await freePort()}`; // nobody listens there
  const node = await startNode("lonely", [deadPeer]);
  const err = await provisionError(node.address);
  assert.equal(err.code, Code.FailedPrecondition, `got ${Code[err.code]}: ${err.rawMessage}`);
  assert.ok(err.rawMessage.includes(deadPeer), err.rawMessage);
  assert.match(err.rawMessage, /cannot be reached.*--force-new-cluster/);

  const viaCtl = await ctl(["--address", node.address, "cluster", "provision"]);
  assert.equal(viaCtl.code, 1, viaCtl.stderr);
  assertOneLine(viaCtl.stderr);
  assert.match(viaCtl.stderr, /^ctl: failed precondition: not provisioning: --join peer http:\/\/127\.0\.0\.1:\d+ \(.*\) cannot be reached/);
  assert.ok(viaCtl.stderr.includes(deadPeer));
  assert.equal(viaCtl.stdout, "");

  const s = await clientsFor(node.address).cluster.status({});
  assert.equal(s.clusterId, "");
  assert.equal(s.configuration, undefined);
  assert.notEqual(s.state, NodeState.ACTIVE);
  // Nothing was persisted: started again without --join, the same data dir is still unprovisioned.
  await node.stop();
  const again = new MetadProcess({ name: "lonely", dataDir: node.options.dataDir, port: node.options.port });
  processes.push(again);
  await again.start();
  const afterRestart = await clientsFor(again.address).cluster.status({});
  assert.equal(afterRestart.state, NodeState.UNPROVISIONED);
  assert.equal(afterRestart.clusterId, "");
  await again.stop();
});

test("--force-new-cluster provisions a node whose --join peers cannot be reached", async () => {
  const deadPeers = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`];
  const node = await startNode("forced", deadPeers);
  const refused = await ctl(["--address", node.address, "cluster", "provision"]);
  assert.equal(refused.code, 1, refused.stderr);
  for (const p of deadPeers) assert.ok(refused.stderr.includes(p), refused.stderr);

  const forced = await ctl(["--address", node.address, "cluster", "provision", "--force-new-cluster"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^provisioned cluster \S+\n/);
  const s = await clientsFor(node.address).cluster.status({});
  assert.equal(s.state, NodeState.ACTIVE);
  assert.equal(s.configuration?.members.length, 1);
  await eventually("a write on the new cluster", () => clientsFor(node.address).metadata.put({ key: "forced/k", value: utf8("v"), requestId: "forced-1" }));
});

test("a node whose --join peers all answer and belong to no cluster provisions without --force-new-cluster", async () => {
  const peer = await startNode("fresh-peer", []);
  const node = await startNode("founder", [peer.address]);
  const r = await ctl(["--address", node.address, "cluster", "provision"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^provisioned cluster \S+\n/);
  assert.equal((await clientsFor(node.address).cluster.status({})).state, NodeState.ACTIVE);
  assert.equal((await clientsFor(peer.address).cluster.status({})).clusterId, "", "the peer was only asked");
});

test("a node whose --join peer is a member of a cluster refuses to provision, even forced: it joins instead", async () => {
  const cluster = new ProcessCluster();
  clusters.push(cluster);
  await cluster.startProvisioned(1);
  const member = cluster.nodes[0]!;
  const clusterId = (await clientsFor(member.address).cluster.status({})).clusterId;
  // Named like the member but with a data dir of its own: the member refuses its join (another incarnation of
  // "n1"), so it stays unprovisioned, and its operator might be tempted to provision it.
  const stray = await startNode("n1", [member.address], `${root}/stray`);
  await eventually("the join is refused", async () => {
    const s = await clientsFor(stray.address).cluster.status({});
    assert.equal(s.state, NodeState.JOINING);
    assert.match(s.stateDetail, /already a member/);
  });

  const err = await provisionError(stray.address);
  assert.equal(err.code, Code.FailedPrecondition, `got ${Code[err.code]}: ${err.rawMessage}`);
  assert.ok(err.rawMessage.includes(`${member.address} is a member of cluster ${clusterId}`), err.rawMessage);
  for (const args of [["cluster", "provision"], ["cluster", "provision", "--force-new-cluster"]]) {
    const r = await ctl(["--address", stray.address, ...args]);
    assert.equal(r.code, 1, r.stderr);
    assertOneLine(r.stderr);
    assert.match(r.stderr, /not provisioning: --join peer .* is a member of cluster .*; this node joins that cluster instead/);
  }
  const s = await clientsFor(stray.address).cluster.status({});
  assert.equal(s.clusterId, "");
  assert.equal(s.configuration, undefined);
  const members = await clientsFor(member.address).cluster.listMembers({});
  assert.equal(members.configuration?.members.length, 1);
});

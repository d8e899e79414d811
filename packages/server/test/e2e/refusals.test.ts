// End to end refusals: a data dir of another node makes metad exit with one readable line, and a node
// that lost its disk (new storage id) is refused as a member until an operator removes its old incarnation.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { NodeState } from "@omnimeta/proto";
import { ProcessCluster } from "./process-cluster.ts";
import { MetadProcess } from "./metad-process.ts";
import { clientsFor, eventually, text, utf8 } from "./clients.ts";

const cluster = new ProcessCluster();
before(() => cluster.startProvisioned(3, { sequential: true }), { timeout: 90_000 });
after(() => cluster.close());

test("metad refuses a data dir that belongs to another node, with one readable line and a non-zero exit", async () => {
  const owner = cluster.nodes[2]!;
  await owner.stop();
  const intruder = new MetadProcess({ name: "intruder", dataDir: owner.options.dataDir, port: owner.options.port });
  const exit = await intruder.run();
  assert.notEqual(exit.code, 0);
  assert.equal(exit.signal, null);
  const text = intruder.logs.join("\n");
  assert.match(text, /belongs to node "n3"/);
  assert.doesNotMatch(text, /\n\s+at /, "no stack trace");
  await owner.start();
  await cluster.waitForMembers(3);
});

test("a node back with an empty data dir is refused until its old incarnation is removed, then it joins", async () => {
  const leader = await cluster.leaderIndex();
  const lostIndex = (leader + 1) % 3;
  const lost = cluster.nodes[lostIndex]!;
  const before = await clientsFor(lost.address).cluster.status({});
  await clientsFor(cluster.nodes[leader]!.address).metadata.put({ key: "disk/before", value: utf8("1"), requestId: "disk-before" });
  await lost.kill("SIGKILL");
  rmSync(lost.options.dataDir, { recursive: true, force: true });
  const logMark = lost.logs.length;
  await lost.start();
  // Refused: it stays joining and says why, in its status and in its log.
  const refusal = await eventually("the rejoin is refused with a reason", async () => {
    const s = await clientsFor(lost.address).cluster.status({});
    assert.notEqual(s.state, NodeState.ACTIVE);
    assert.match(s.stateDetail, /storage id|incarnation|remove/i);
    return s;
  });
  assert.notEqual(refusal.storageId, before.storageId, "a new storage id");
  await lost.waitForLog((l) => /storage id|incarnation/i.test(l) && /remove/i.test(l), 20_000, logMark);
  const members = await clientsFor(cluster.nodes[leader]!.address).cluster.listMembers({});
  const old = members.configuration?.members.find((m) => m.name === lost.options.name);
  assert.equal(old?.storageId, before.storageId, "the configuration still holds the old incarnation");
  // The operator removes the old incarnation; the node then joins with its new storage id.
  await eventually("remove the old incarnation", () => clientsFor(cluster.nodes[leader]!.address).cluster.removeMember({ nodeId: before.nodeId }));
  await cluster.waitForMembers(3, 60_000);
  const s = await clientsFor(lost.address).cluster.status({});
  assert.equal(s.state, NodeState.ACTIVE);
  assert.equal(s.storageId, refusal.storageId);
  const got = await eventually("the rejoined node has the data", () => clientsFor(lost.address).metadata.get({ key: "disk/before" }));
  assert.equal(text(got.kv?.value), "1");
});

// Node lifecycle on in-process clusters: provision once, join, AddMember, RemoveMember, restart from
// the data dir, refusal of a foreign data dir, and a disk-loss rejoin that waits for the operator.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { NodeState } from "@omnimeta/proto";
import { startNode } from "../../src/index.ts";
import { TestCluster, eventually, text, utf8, waitFor } from "./harness.ts";

describe("node lifecycle", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await new TestCluster(3).start();
  });
  after(async () => {
    await cluster?.close();
  });

  test("a second provision, at any node, answers already_provisioned and changes nothing", async () => {
    const before = cluster.nodes[0]!.node.status();
    for (const n of cluster.nodes) {
      const r = await n.clients.cluster.provision({});
      assert.equal(r.alreadyProvisioned, true);
      assert.equal(r.clusterId, before.clusterId);
    }
    const after = cluster.nodes[0]!.node.status();
    assert.equal(after.clusterId, before.clusterId);
    assert.equal(after.configuration?.configurationId, before.configuration?.configurationId);
  });

  test("status and ListMembers show three members with one leader; joined nodes got new ids", async () => {
    const s = await cluster.nodes[1]!.clients.cluster.status({});
    assert.equal(s.state, NodeState.ACTIVE);
    assert.ok(s.leaderId > 0n);
    const m = await cluster.nodes[2]!.clients.cluster.listMembers({});
    assert.deepEqual(m.configuration?.members.map((x) => x.name).sort(), ["n1", "n2", "n3"]);
    assert.deepEqual(new Set(m.configuration?.members.map((x) => x.nodeId)).size, 3);
    // Configuration 3 was started by the StopSign that added the third node (the second slot, index 1).
    assert.equal(m.configuration?.configurationId, 3n);
    assert.equal(m.configuration?.startIdx, 1n);
  });

  test("a stopped node restarts from its data dir, keeps its identity and catches up", async () => {
    const n3 = cluster.nodes[2]!;
    const id = n3.node.nodeId;
    await cluster.stop(n3);
    const leader = await cluster.settled();
    await eventually("put", () => leader.clients.metadata.put({ key: "while-down", value: utf8("x"), requestId: "wd-1" }));
    const again = await cluster.startNode(2);
    assert.equal(again.node.nodeId, id);
    await waitFor("n3 applies the write made while it was down", async () => {
      try {
        const g = await again.clients.metadata.get({ key: "while-down", consistency: 2 });
        return text(g.kv?.value) === "x";
      } catch {
        return false;
      }
    });
  });

  test("a data dir of another node is refused with one readable line", async () => {
    const n2 = cluster.nodes[1]!;
    await assert.rejects(
      startNode({ ...cluster.options(1, []), name: "intruder", listen: { host: "127.0.0.1", port: 0 }, dataDir: n2.dataDir }),
      (e: Error) => {
        assert.match(e.message, /belongs to node "n2"|in use by another/);
        assert.ok(!e.message.includes("\n"));
        return true;
      },
    );
  });

  test("AddMember adds an unprovisioned node by address, and RemoveMember removes it", async () => {
    const extra = await startNode({ ...cluster.options(3, []), name: "n4", listen: { host: "127.0.0.1", port: 0 }, dataDir: `${cluster.nodes[0]!.dataDir}-n4` });
    try {
      assert.equal(extra.status().state, "unprovisioned");
      const added = await eventually("add", () => cluster.nodes[1]!.clients.cluster.addMember({ address: extra.address }), 30_000);
      assert.ok(added.configuration?.members.some((m) => m.name === "n4"));
      await extra.waitForState("active", 20_000);
      await waitFor("n4 knows the leader", () => extra.status().leaderId !== 0);
      const removed = await eventually("remove", () => cluster.nodes[0]!.clients.cluster.removeMember({ name: "n4" }), 30_000);
      assert.ok(!removed.configuration?.members.some((m) => m.name === "n4"));
      await extra.waitForState("removed", 20_000);
      assert.match(extra.status().stateDetail, /not a member/);
    } finally {
      await extra.close();
    }
  });

  test("a node that lost its disk is refused until its old incarnation is removed, then it joins", async () => {
    const n3 = cluster.nodes[2]!;
    const oldId = n3.node.nodeId;
    await cluster.stop(n3);
    rmSync(n3.dataDir, { recursive: true, force: true });
    const reborn = await cluster.startNode(2);
    await waitFor("the rejoin is refused", () => /remove the old incarnation/.test(reborn.node.status().stateDetail));
    assert.equal(reborn.node.status().state, "joining");
    const err = await reborn.clients.metadata.get({ key: "x" }).catch((e: unknown) => ConnectError.from(e));
    assert.ok(err instanceof ConnectError && err.code === Code.Unavailable);
    await eventually("remove", () => cluster.nodes[0]!.clients.cluster.removeMember({ nodeId: BigInt(oldId) }), 30_000);
    await reborn.node.waitForState("active", 30_000);
    assert.notEqual(reborn.node.nodeId, oldId);
    const m = await eventually("members", () => cluster.nodes[0]!.clients.cluster.listMembers({}));
    assert.ok(m.configuration?.members.some((x) => x.name === "n3" && Number(x.nodeId) === reborn.node.nodeId));
  });
});

test("removing the leader hands the cluster to the others, and the removed node says so and serves nothing", async () => {
  const cluster = await new TestCluster(3).start();
  try {
    const leader = await cluster.settled();
    const r = await eventually("remove", () => cluster.followers()[0]!.clients.cluster.removeMember({ nodeId: BigInt(leader.node.nodeId) }), 30_000);
    assert.equal(r.configuration?.members.length, 2);
    await leader.node.waitForState("removed", 20_000);
    const others = cluster.nodes.filter((n) => n !== leader);
    const put = await eventually("put", () => others[0]!.clients.metadata.put({ key: "after-remove", value: utf8("x"), requestId: "after-remove" }), 30_000);
    assert.ok(put.revision > 0n);
    const err = await leader.clients.metadata.get({ key: "after-remove" }).catch((e: unknown) => ConnectError.from(e));
    assert.ok(err instanceof ConnectError && err.code === Code.Unavailable && /removed/.test(err.message));
    const s = await leader.clients.cluster.status({});
    assert.equal(s.state, NodeState.REMOVED);
  } finally {
    await cluster.close();
  }
});

test("a node that joins by itself while an operator also adds it is installed once, under one node id", async () => {
  const cluster = await new TestCluster(1).start();
  try {
    const seed = cluster.nodes[0]!;
    const joiner = await startNode({ ...cluster.options(0, [seed.node.address]), name: "twice", listen: { host: "127.0.0.1", port: 0 }, dataDir: `${seed.dataDir}-twice` });
    try {
      const added = await eventually("add", () => seed.clients.cluster.addMember({ address: joiner.address }), 30_000);
      await joiner.waitForState("active", 30_000);
      const members = (await seed.clients.cluster.listMembers({})).configuration!.members.filter((m) => m.name === "twice");
      assert.equal(members.length, 1);
      assert.equal(Number(members[0]!.nodeId), joiner.nodeId);
      assert.ok(added.configuration!.members.some((m) => m.name === "twice"));
    } finally {
      await joiner.close();
    }
  } finally {
    await cluster.close();
  }
});

test("a data dir of one cluster started with --join peers of another cluster refuses to start, in one line", async () => {
  const a = await new TestCluster(1).start();
  const b = await new TestCluster(1).start();
  try {
    const bNode = b.nodes[0]!;
    await b.stop(bNode);
    await assert.rejects(startNode({ ...b.options(0, [a.nodes[0]!.node.address]), listen: { host: "127.0.0.1", port: 0 } }), (e: Error) => {
      assert.match(e.message, /belongs to cluster .* but --join peer .* is in cluster/);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  } finally {
    await a.close();
    await b.close();
  }
});

// The peer transport: the versioned batch codec, and batches split into chunks when they are larger
// than one ExchangeRequest may be (a joiner's catch-up of a big log arrives in pieces).

import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeBatch, encodeBatch, PeerCodecError } from "../../src/peer/codec.ts";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ExchangeRequestSchema, PeerService } from "@omnimeta/proto";
import { TestCluster, eventually, text, utf8, waitFor } from "./harness.ts";

test("a batch round-trips through the codec, and another codec version is refused by name", () => {
  const messages = [{ kind: "AcceptDecide", from: 1, to: 2, entries: [{ kind: "entry", entry: { kind: "put", key: "k", value: new Uint8Array([1, 2, 3]) } }] }];
  assert.deepEqual(decodeBatch(encodeBatch(messages)), messages);
  const bytes = encodeBatch(messages);
  bytes[0] = 99;
  assert.throws(() => decodeBatch(bytes), (e: Error) => e instanceof PeerCodecError && /version 99/.test(e.message));
  assert.throws(() => decodeBatch(new Uint8Array([1, 0xff, 0x00])), PeerCodecError);
});

test("with tiny chunks, writes replicate and a late joiner catches up on a log larger than one chunk", async () => {
  const cluster = await new TestCluster(2, false, { limits: { stateChunkBytes: 512 } }).start();
  try {
    const value = "x".repeat(4000);
    for (let i = 0; i < 30; i++) {
      await eventually("put", () => cluster.leader().clients.metadata.put({ key: `chunk/${i}`, value: utf8(value + i), requestId: `chunk-${i}` }));
    }
    const late = await cluster.startNode(2, [cluster.nodes[0]!.node.address], { name: "late" });
    await late.node.waitForState("active", 30_000);
    await waitFor("the late joiner applied every write", () => late.node.status().appliedIdx >= cluster.nodes[0]!.node.status().appliedIdx, 30_000);
    const g = await late.clients.metadata.get({ key: "chunk/29", consistency: 2 });
    assert.equal(text(g.kv?.value), value + 29);
  } finally {
    await cluster.close();
  }
});

test("an Exchange whose fromAddress cannot be dialled is not believed: the node keeps running and replicating (fuzz seed 194765)", async () => {
  const cluster = await new TestCluster(2).start();
  try {
    const target = cluster.nodes[0]!;
    const peer = cluster.nodes[1]!;
    const transport = createConnectTransport({ baseUrl: target.node.address, httpVersion: "2" });
    const exchange = createClient(PeerService, transport).exchange;
    const clusterId = target.node.status().clusterId;
    // From a real member's id, with an address that is no HOST:PORT: believing it made the node dial it and crash.
    async function* frames() {
      yield create(ExchangeRequestSchema, { clusterId, from: BigInt(peer.node.nodeId), to: BigInt(target.node.nodeId), fromAddress: "\u{10ffff}garbage", messages: [encodeBatch([])] });
    }
    await exchange(frames());
    for (let i = 0; i < 10; i++) {
      await eventually("put", () => cluster.leader().clients.metadata.put({ key: `after/${i}`, value: utf8("v"), requestId: `after-${i}` }));
    }
    await waitFor("both nodes applied the writes", () => cluster.nodes.every((n) => n.node.status().appliedIdx === target.node.status().appliedIdx && n.node.status().appliedIdx > 0));
    assert.equal(target.node.status().state, "active");
    assert.equal(text((await target.clients.metadata.get({ key: "after/9", consistency: 2 })).kv?.value), "v");
  } finally {
    await cluster.close();
  }
});

test("a peer's stored-snapshot handle or Compaction request is refused: it names the sender's own tables, and the node keeps its log", async () => {
  const cluster = await new TestCluster(2).start();
  try {
    const leader = cluster.leader();
    const target = cluster.followers()[0]!;
    await leader.clients.metadata.put({ key: "before", value: utf8("v"), requestId: "before" });
    await waitFor("the follower applied the write", () => target.node.status().appliedIdx === leader.node.status().appliedIdx);
    const s = target.node.status();
    const configurationId = s.configuration!.configurationId;
    // The leader's current ballot, so that the core would act on the message if the node let it through.
    const n = { configurationId, ...s.ballot! };
    const far = s.decidedIdx + 1_000;
    const forged = [
      { kind: "AcceptSync", from: leader.node.nodeId, to: target.node.nodeId, configurationId, n, decidedIdx: far,
        sync: { fromIdx: s.acceptedIdx, snapshot: { compactedIdx: far, snapshot: { kind: "stored", lastRevision: far } }, entries: [] } },
      { kind: "Compaction", from: leader.node.nodeId, to: target.node.nodeId, configurationId, n, op: "snapshot", idx: far },
    ];
    const exchange = createClient(PeerService, createConnectTransport({ baseUrl: target.node.address, httpVersion: "2" })).exchange;
    async function* frames() {
      yield create(ExchangeRequestSchema, { clusterId: s.clusterId, from: BigInt(leader.node.nodeId), to: BigInt(target.node.nodeId), fromAddress: "", messages: [encodeBatch(forged)] });
    }
    await exchange(frames());
    for (let i = 0; i < 5; i++) await eventually("put", () => cluster.leader().clients.metadata.put({ key: `after/${i}`, value: utf8("v"), requestId: `after-${i}` }));
    await waitFor("the follower applied the writes", () => target.node.status().appliedIdx === leader.node.status().appliedIdx);
    const after = target.node.status();
    assert.equal(after.state, "active");
    assert.ok(after.compactedIdx < far && after.decidedIdx < far, `follower jumped to ${after.compactedIdx}/${after.decidedIdx}`);
    assert.equal(text((await target.clients.metadata.get({ key: "after/4", consistency: 2 })).kv?.value), "v");
  } finally {
    await cluster.close();
  }
});

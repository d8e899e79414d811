// The peer transport: the versioned batch codec, and batches split into chunks when they are larger
// than one ExchangeRequest may be (a joiner's catch-up of a big log arrives in pieces).

import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeBatch, encodeBatch, PeerCodecError } from "../../src/peer/codec.ts";
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

// The debug-only fault injection (OMNIMETA_UNSAFE) that lets the fault-testing harness show that its
// checker bites: off by default, parsed strictly, and each flag really breaks its guarantee.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseUnsafeFlags } from "../../src/unsafe.ts";
import { TestCluster, eventually, utf8 } from "./harness.ts";

test("OMNIMETA_UNSAFE is off by default, lists known flags, and refuses unknown ones", () => {
  const off = { staleReads: false, ackBeforeFsync: false, noDedup: false, listStale: false, serializableBackwards: false, watchGap: false, corruptTransfer: false };
  assert.deepEqual(parseUnsafeFlags(undefined), off);
  assert.deepEqual(parseUnsafeFlags("stale-reads, no-dedup"), { ...off, staleReads: true, noDedup: true });
  assert.deepEqual(parseUnsafeFlags("list-stale,serializable-backwards,watch-gap"), { ...off, listStale: true, serializableBackwards: true, watchGap: true });
  assert.deepEqual(parseUnsafeFlags("corrupt-transfer"), { ...off, corruptTransfer: true });
  assert.throws(() => parseUnsafeFlags("fast"), /unknown flag "fast"/);
});

async function putTwiceWithOneRequestId(): Promise<bigint> {
  const cluster = await new TestCluster(1).start();
  try {
    const md = cluster.nodes[0]!.clients.metadata;
    await eventually("put", () => md.put({ key: "k", value: utf8("1"), requestId: "same" }));
    await eventually("put", () => md.put({ key: "k", value: utf8("2"), requestId: "same" }));
    return (await md.get({ key: "k" })).kv!.version;
  } finally {
    await cluster.close();
  }
}

test("no-dedup applies a retried request id again; without it the retry is applied once", async () => {
  assert.equal(await putTwiceWithOneRequestId(), 1n);
  process.env.OMNIMETA_UNSAFE = "no-dedup";
  try {
    assert.equal(await putTwiceWithOneRequestId(), 2n);
  } finally {
    delete process.env.OMNIMETA_UNSAFE;
  }
});

// End to end on three real metad processes: provisioning and auto-join, put/get through every node,
// CAS conflicts with a structured detail, a second provision, and clear errors for bad requests.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { EventType, NodeState, PreconditionFailureSchema, ReadConsistency } from "@omnimeta/proto";
import { ProcessCluster } from "./process-cluster.ts";
import { eventually, text, utf8 } from "./clients.ts";

const cluster = new ProcessCluster(["--max-value-bytes", "65536"]);
before(() => cluster.startProvisioned(3), { timeout: 90_000 });
after(() => cluster.close());

async function expectCode(p: Promise<unknown>, code: Code, pattern?: RegExp): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    const err = ConnectError.from(e);
    assert.equal(err.code, code, `expected ${Code[code]}, got ${Code[err.code]}: ${err.rawMessage}`);
    if (pattern) assert.match(err.rawMessage, pattern);
    return err;
  }
  assert.fail(`expected ${Code[code]}, but the call succeeded`);
}

test("a provisioned node and two auto-joined nodes form one configuration with one leader", async () => {
  const statuses = await Promise.all([0, 1, 2].map((i) => cluster.clients(i).cluster.status({})));
  const clusterIds = new Set(statuses.map((s) => s.clusterId));
  assert.equal(clusterIds.size, 1);
  assert.notEqual(statuses[0]!.clusterId, "");
  for (const s of statuses) {
    assert.equal(s.state, NodeState.ACTIVE);
    assert.deepEqual(s.configuration?.members.map((m) => m.name).sort(), ["n1", "n2", "n3"]);
  }
  assert.equal(statuses.filter((s) => s.isLeader).length, 1);
  assert.equal(new Set(statuses.map((s) => s.nodeId)).size, 3, "distinct node ids");
  const members = await cluster.clients(1).cluster.listMembers({});
  assert.equal(members.configuration?.members.length, 3);
});

test("a put through any node is read back through every node", async () => {
  for (let i = 0; i < 3; i++) {
    const key = `basics/through-${i}`;
    const put = await cluster.clients(i).metadata.put({ key, value: utf8(`v${i}`), requestId: `basics-${i}` });
    assert.equal(put.version, 1n);
    assert.ok(put.revision > 0n, "the put has a revision");
    for (let j = 0; j < 3; j++) {
      const got = await cluster.clients(j).metadata.get({ key });
      assert.equal(text(got.kv?.value), `v${i}`, `node ${j} reads the put made through node ${i}`);
      assert.equal(got.kv?.version, 1n);
      assert.equal(got.kv?.modRevision, put.revision);
      assert.ok(got.revision >= put.revision, `read at ${got.revision}, put at ${put.revision}`);
    }
    // A serializable read on a follower catches up without a barrier.
    await eventually("serializable read sees the put", async () => {
      const got = await cluster.clients((i + 1) % 3).metadata.get({ key, consistency: ReadConsistency.SERIALIZABLE });
      assert.equal(text(got.kv?.value), `v${i}`);
    });
  }
  const list = await cluster.clients(2).metadata.list({ prefix: "basics/" });
  assert.deepEqual(list.kvs.map((kv) => kv.key), ["basics/through-0", "basics/through-1", "basics/through-2"]);
});

test("a CAS conflict is FAILED_PRECONDITION with the current version as a structured detail", async () => {
  const m = cluster.clients(1).metadata;
  await m.put({ key: "cas/k", value: utf8("a"), precondition: { condition: { case: "doesNotExist", value: true } }, requestId: "cas-1" });
  const second = await m.put({ key: "cas/k", value: utf8("b"), precondition: { condition: { case: "matchesVersion", value: 1n } }, requestId: "cas-2" });
  assert.equal(second.version, 2n);
  const err = await expectCode(
    m.put({ key: "cas/k", value: utf8("c"), precondition: { condition: { case: "matchesVersion", value: 1n } }, requestId: "cas-3" }),
    Code.FailedPrecondition,
  );
  const [detail] = err.findDetails(PreconditionFailureSchema);
  assert.ok(detail, "PreconditionFailure detail attached");
  assert.equal(detail.key, "cas/k");
  assert.equal(detail.exists, true);
  assert.equal(detail.currentVersion, 2n);
  const absent = await expectCode(
    cluster.clients(2).metadata.delete({ key: "cas/absent", precondition: { condition: { case: "matchesVersion", value: 3n } }, requestId: "cas-4" }),
    Code.FailedPrecondition,
  );
  assert.equal(absent.findDetails(PreconditionFailureSchema)[0]?.exists, false);
  assert.equal(text((await m.get({ key: "cas/k" })).kv?.value), "b", "the failed write changed nothing");
});

test("a retried request id is applied once and gets the first answer", async () => {
  const m = cluster.clients(2).metadata;
  const first = await m.put({ key: "dedup/k", value: utf8("1"), requestId: "dedup-req" });
  const retry = await m.put({ key: "dedup/k", value: utf8("1"), requestId: "dedup-req" });
  assert.equal(retry.revision, first.revision);
  assert.equal(retry.version, first.version);
  assert.equal((await m.get({ key: "dedup/k" })).kv?.version, 1n);
});

test("a second provision answers already provisioned and changes nothing", async () => {
  const before = await cluster.clients(0).cluster.status({});
  for (let i = 0; i < 3; i++) {
    const r = await cluster.clients(i).cluster.provision({});
    assert.equal(r.alreadyProvisioned, true);
    assert.equal(r.clusterId, before.clusterId);
  }
  const afterStatus = await cluster.clients(0).cluster.status({});
  assert.equal(afterStatus.clusterId, before.clusterId);
  assert.equal(afterStatus.configuration?.configurationId, before.configuration?.configurationId);
  assert.equal(afterStatus.configuration?.members.length, 3);
});

test("oversized and malformed requests get clear errors and nothing is written", async () => {
  const m = cluster.clients(0).metadata;
  await expectCode(m.put({ key: "limits/big", value: new Uint8Array(65_537), requestId: "big-1" }), Code.ResourceExhausted, /65537 bytes; the limit is 65536/);
  await expectCode(m.put({ key: "k".repeat(4097), value: utf8("x"), requestId: "big-2" }), Code.InvalidArgument, /key/);
  await expectCode(m.put({ key: "", value: utf8("x"), requestId: "big-3" }), Code.InvalidArgument, /key/);
  await expectCode(m.put({ key: "limits/nul\u0000", value: utf8("x"), requestId: "big-4" }), Code.InvalidArgument, /NUL/);
  await expectCode(m.put({ key: "limits/rid", value: utf8("x"), requestId: "r".repeat(1000) }), Code.InvalidArgument, /request_id/);
  await expectCode(
    m.put({ key: "limits/v0", value: utf8("x"), precondition: { condition: { case: "matchesVersion", value: 0n } }, requestId: "big-5" }),
    Code.InvalidArgument,
    /matches_version/,
  );
  await expectCode(m.get({ key: "k".repeat(4097) }), Code.InvalidArgument, /key/);
  await expectCode(m.list({ prefix: "limits/", limit: 1_000_000 }), Code.InvalidArgument, /limit/);
  const list = await m.list({ prefix: "limits/" });
  assert.deepEqual(list.kvs.map((kv) => kv.key), [], "nothing was written");
  await expectCode(m.get({ key: "limits/big" }), Code.NotFound);
});

test("a Session stream answers bad requests with per-request errors and keeps serving", async () => {
  const m = cluster.clients(1).metadata;
  async function* requests() {
    yield { id: 1n, op: { case: "put" as const, value: { key: "session/big", value: new Uint8Array(70_000), requestId: "s-1" } } };
    yield { id: 2n, op: { case: "put" as const, value: { key: "session/ok", value: utf8("fine"), requestId: "s-2" } } };
    yield { id: 3n, op: { case: "get" as const, value: { key: "session/ok" } } };
  }
  const answers = new Map<bigint, unknown>();
  // Answers may come in any order (the get may even be served before the put applies), so only the
  // oversized put's error and the good put's success are checked here; a later unary get checks the value.
  for await (const res of m.session(requests())) {
    answers.set(res.id, res.result);
    if (answers.size === 3) break;
  }
  const big = answers.get(1n) as { case: string; value: { code: number; message: string } };
  assert.equal(big.case, "error");
  assert.equal(big.value.code, Code.ResourceExhausted);
  assert.equal((answers.get(2n) as { case: string }).case, "put");
  assert.equal(text((await m.get({ key: "session/ok" })).kv?.value), "fine");
  await expectCode(m.get({ key: "session/big" }), Code.NotFound);
});

test("a watch from an old revision replays the retained history, then streams new changes", async () => {
  const m = cluster.clients(0).metadata;
  const first = await m.put({ key: "watch/a", value: utf8("1"), requestId: "w-1" });
  await m.put({ key: "watch/b", value: utf8("2"), requestId: "w-2" });
  await m.delete({ key: "watch/a", requestId: "w-3" });
  await m.put({ key: "other/x", value: utf8("3"), requestId: "w-4" });
  const abort = new AbortController();
  const seen: Array<[string, string, number]> = [];
  const stream = cluster.clients(2).metadata.watch({ key: "watch/", prefix: true, startRevision: first.revision }, { signal: abort.signal, timeoutMs: 20_000 });
  let later: bigint | undefined; // the revision of the live change, once made
  try {
    for await (const res of stream) {
      for (const e of res.events) seen.push([e.kv?.key ?? "", e.type === EventType.DELETE ? "delete" : "put", Number(e.kv?.version ?? 0)]);
      if (seen.length === 3 && later === undefined) later = (await m.put({ key: "watch/c", value: utf8("4"), requestId: "w-5" })).revision;
      if (seen.length >= 4) break;
    }
  } finally {
    abort.abort();
  }
  assert.deepEqual(seen, [["watch/a", "put", 1], ["watch/b", "put", 1], ["watch/a", "delete", 1], ["watch/c", "put", 1]]);
});

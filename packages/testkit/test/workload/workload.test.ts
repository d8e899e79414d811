// The workload pipeline (clients, outcome classification, same-id retries, recorder, checker)
// against an in-process fake node: a correct node passes despite ambiguous replies, and each
// injected fault (no de-duplication, stale reads) is caught.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkEvents } from "../../src/linearizability/check.ts";
import { parseJsonl } from "../../src/linearizability/history.ts";
import { NodeClient } from "../../src/cluster/node-client.ts";
import { freePort } from "../../src/cluster/free-port.ts";
import { Prng } from "../../src/util/prng.ts";
import { ClientWorker } from "../../src/workload/client-worker.ts";
import { HistoryRecorder } from "../../src/workload/history-recorder.ts";
import { FakeNode, type FakeFaults } from "./fake-node.ts";

async function runWorkload(faults: FakeFaults, opsPerClient: number) {
  const node = await FakeNode.start(faults);
  const dir = mkdtempSync(join(tmpdir(), "omnimeta-workload-"));
  const client = new NodeClient(node.address);
  const recorder = new HistoryRecorder(join(dir, "history.jsonl"));
  try {
    const options = { keys: ["k0", "k1"], opTimeoutMs: 2000, attemptTimeoutMs: 500, thinkMs: 0, duplicateRate: 0.1, runId: "t" };
    const workers = Array.from({ length: 4 }, (_, p) => new ClientWorker(p, () => [{ client }], recorder, new Prng(100 + p), options));
    await Promise.all(workers.map((w) => w.run(() => w.opCount >= opsPerClient)));
    await recorder.close();
    assert.deepEqual(parseJsonl(readFileSync(join(dir, "history.jsonl"), "utf8")), recorder.events, "the JSONL file holds the history");
    return { events: recorder.events, result: checkEvents(recorder.events) };
  } finally {
    client.close();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a correct node passes even when writes answer ambiguously: same-id retries resolve them", async () => {
  const { events, result } = await runWorkload({ ambiguousRate: 0.2, staleReads: false, noDedup: false }, 150);
  assert.equal(result.valid, true, JSON.stringify(result.anomalies.map((a) => a.explanation)));
  assert.equal(events.filter((e) => e.type === "invoke").length, 600);
  assert.equal(events.filter((e) => e.type === "info").length, 0, "every ambiguous write got a definite answer on retry");
  assert.ok(events.filter((e) => e.type === "fail").length > 0, "compare-and-set conflicts happen");
});

test("dropping request-id de-duplication is caught", async () => {
  const { result } = await runWorkload({ ambiguousRate: 0.2, staleReads: false, noDedup: true }, 150);
  assert.equal(result.valid, false);
  assert.ok(result.anomalies.length > 0);
});

test("stale reads are caught", async () => {
  const { result } = await runWorkload({ ambiguousRate: 0, staleReads: true, noDedup: false }, 150);
  assert.equal(result.valid, false);
});

test("a write that never reached a server (connection refused on every attempt) is a definite failure, not indeterminate", async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "omnimeta-workload-"));
  const client = new NodeClient(`http://127.0.0.1:${port}`);
  const recorder = new HistoryRecorder(join(dir, "history.jsonl"));
  try {
    const options = { keys: ["k0"], opTimeoutMs: 300, attemptTimeoutMs: 100, thinkMs: 0, duplicateRate: 0, runId: "t" };
    const worker = new ClientWorker(0, () => [{ client }], recorder, new Prng(1), options);
    await worker.runOp({ f: "put", key: "k0", value: "x", pre: { kind: "none" } });
    const done = recorder.events[1];
    if (done.type !== "fail") assert.fail(`expected a fail, got ${JSON.stringify(done)}`);
    assert.match(done.error ?? "", /never sent: .*ECONNREFUSED/);
  } finally {
    client.close();
    await recorder.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

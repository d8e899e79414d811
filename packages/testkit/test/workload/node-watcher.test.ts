// The jepsen watcher on a real node whose watch history is short: asked from revision 1 it is told
// the revision is compacted (OUT_OF_RANGE), lists again, resumes past the list's revision, and the
// stream it kept passes the watch check with the compacted range left out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ProcessCluster } from "../../src/cluster/process-cluster.ts";
import { pairOperations, type OpInput } from "../../src/linearizability/history.ts";
import type { SnapshotRead } from "../../src/linearizability/observations.ts";
import { checkWatchStreams } from "../../src/linearizability/watch-check.ts";
import { Prng } from "../../src/util/prng.ts";
import { waitFor } from "../../src/util/wait-for.ts";
import { executeOp } from "../../src/workload/execute-op.ts";
import { HistoryRecorder } from "../../src/workload/history-recorder.ts";
import { NodeWatcher } from "../../src/workload/node-watcher.ts";
import { SnapshotReader, type ReadTarget } from "../../src/workload/snapshot-reader.ts";

test("a watcher whose start revision is compacted re-lists, resumes past the list, and its stream passes the watch check", async (t) => {
  const cluster = await ProcessCluster.start({ size: 1, nodeArgs: ["--watch-history-revisions", "10"] });
  t.after(() => cluster.close());
  const recorder = new HistoryRecorder(join(cluster.runDir, "history.jsonl"));
  t.after(() => recorder.close());
  const target: ReadTarget = { name: "n1", client: cluster.client("n1"), incarnation: () => 0 };
  let lastRevision = 0;
  const put = async (i: number) => {
    const input: OpInput = { f: "put", key: `k${i % 3}`, value: `v${i}`, pre: { kind: "none" } };
    const opId = recorder.invoke(0, input);
    const r = await waitFor(`put ${i}`, async () => {
      const a = await executeOp(target.client, input, `watcher-test-${i}`, 2000);
      return a.type === "ok" ? a : undefined;
    }, 20_000);
    recorder.complete(0, opId, "ok", r.output);
    if (r.output.kind === "written") lastRevision = r.output.revision ?? 0;
  };
  for (let i = 0; i < 40; i++) await put(i);

  const reads: SnapshotRead[] = [];
  const relister = new SnapshotReader(1, () => [target], () => recorder.nowUs(), new Prng(1), ["k0", "k1", "k2"], reads, 2000);
  const watcher = new NodeWatcher(target, "k", 1, () => recorder.nowUs(), relister);
  const running = watcher.run();
  await waitFor("the re-list", async () => (reads.length > 0 ? true : undefined), 20_000);
  for (let i = 40; i < 50; i++) await put(i);
  await waitFor("the watcher to catch up", async () => (watcher.delivered >= lastRevision ? true : undefined), 20_000);
  watcher.stop();
  await running;

  const result = checkWatchStreams(pairOperations(recorder.events), [watcher.stream]);
  assert.deepEqual(result.findings, []);
  assert.equal(result.compacted, 1);
  assert.equal(watcher.stream.segments[0]!.relistRevision, reads[0]!.revision);
  assert.ok(result.events >= 10, `the writes after the re-list were delivered: ${JSON.stringify(watcher.stream.segments.map((s) => [s.startRevision, s.events.length, s.end]))}`);
});

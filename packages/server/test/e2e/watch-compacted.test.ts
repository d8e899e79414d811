// A watch from a compacted revision, on real processes: the node answers OUT_OF_RANGE with a WatchCompacted
// detail (the oldest revision it still holds) both when its bounded watch history has moved on and when it
// caught up by installing a snapshot (which drops the history); ctl says what happened and how to resume.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { WatchCompactedSchema, type WatchCompacted } from "@omnimeta/proto";
import { clientsFor, eventually, utf8 } from "./clients.ts";
import { REPO_ROOT } from "./metad-process.ts";
import { ProcessCluster } from "./process-cluster.ts";

const clusters: ProcessCluster[] = [];
after(() => Promise.all(clusters.map((c) => c.close())));

async function ctl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, "packages/ctl/bin/ctl.js"), ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

/** Opens a watch at `address` and returns how it fails (it must fail before delivering anything). */
async function watchRefusal(address: string, startRevision: bigint): Promise<{ err: ConnectError; detail: WatchCompacted }> {
  const signal = AbortSignal.timeout(10_000);
  try {
    for await (const batch of clientsFor(address).metadata.watch({ key: "", prefix: true, startRevision }, { signal })) {
      assert.fail(`expected a refusal, got events from revision ${batch.events[0]?.revision}`);
    }
  } catch (e) {
    const err = ConnectError.from(e);
    assert.equal(err.code, Code.OutOfRange, `got ${Code[err.code]}: ${err.rawMessage}`);
    const detail = err.findDetails(WatchCompactedSchema)[0];
    assert.ok(detail, "a WatchCompacted detail is attached");
    return { err, detail };
  }
  assert.fail("the watch ended without an error");
}

/** The first event a watch from `startRevision` at `address` delivers. */
async function firstEvent(address: string, startRevision: bigint) {
  const stop = new AbortController();
  try {
    for await (const batch of clientsFor(address).metadata.watch({ key: "", prefix: true, startRevision }, { signal: stop.signal })) {
      if (batch.events.length > 0) return batch.events[0]!;
    }
  } finally {
    stop.abort();
  }
  assert.fail("the watch ended without an event");
}

async function putMany(address: string, prefix: string, count: number): Promise<bigint> {
  const m = clientsFor(address).metadata;
  let revision = 0n;
  for (let i = 0; i < count; i++) revision = (await m.put({ key: `${prefix}${i % 10}`, value: utf8(String(i)), requestId: `${prefix}-${i}` })).revision;
  return revision;
}

test("a watch from before the node's watch history fails OUT_OF_RANGE with the oldest retained revision, and ctl says how to resume", async () => {
  const cluster = new ProcessCluster(["--compaction-slots", "20", "--watch-history-revisions", "50"]);
  clusters.push(cluster);
  await cluster.startProvisioned(3);
  const leader = cluster.nodes[await cluster.leaderIndex()]!;
  const last = await putMany(leader.address, "wc/", 150);

  const { err, detail } = await watchRefusal(leader.address, 1n);
  assert.equal(detail.requestedRevision, 1n);
  assert.ok(detail.currentRevision >= last, `current ${detail.currentRevision} >= ${last}`);
  assert.ok(detail.oldestRetainedRevision > detail.currentRevision - 50n - 5n && detail.oldestRetainedRevision <= last,
    `oldest retained ${detail.oldestRetainedRevision} is about 50 revisions behind ${detail.currentRevision}`);
  assert.match(err.rawMessage, /revision 1 is compacted; the oldest retained revision is \d+/);
  // The revision it names is one the node can deliver from.
  const first = await firstEvent(leader.address, detail.oldestRetainedRevision);
  assert.equal(first.revision, detail.oldestRetainedRevision);

  const addresses = cluster.nodes.map((n) => n.address).join(",");
  const text = await ctl(["--address", addresses, "metadata", "watch", "--prefix", "wc/", "--rev", "1"]);
  assert.equal(text.code, 4, text.stderr);
  assert.equal(text.stdout, "");
  assert.equal(text.stderr.trimEnd().split("\n").length, 1, text.stderr);
  assert.doesNotMatch(text.stderr, /\n\s+at /);
  assert.match(text.stderr,
    /^ctl: out of range: cannot watch from revision 1: the history starts at revision \d+ \(the node is at \d+\), the changes before are gone; resume by reading again with `ctl --json metadata list wc\/` and watching with --rev <its revision \+ 1>\n$/);
  const json = await ctl(["--address", addresses, "--json", "metadata", "watch", "wc/0", "--rev", "1"]);
  assert.equal(json.code, 4, json.stderr);
  const body = JSON.parse(json.stderr) as { error: { code: string; message: string; requestedRevision: number; oldestRevision: number; currentRevision: number } };
  assert.equal(body.error.code, "out_of_range");
  assert.match(body.error.message, /metadata get wc\/0/);
  assert.equal(body.error.requestedRevision, 1);
  assert.ok(body.error.oldestRevision > 1 && body.error.oldestRevision <= body.error.currentRevision, JSON.stringify(body));
  await cluster.close();
});

test("a follower that caught up by installing a snapshot has no history before it: a watch there from an older revision fails with WatchCompacted", async () => {
  const cluster = new ProcessCluster(["--compaction-slots", "20"]);
  clusters.push(cluster);
  await cluster.startProvisioned(3);
  const leaderIdx = await cluster.leaderIndex();
  const leader = cluster.nodes[leaderIdx]!;
  const follower = cluster.nodes[(leaderIdx + 1) % 3]!;
  const before = (await clientsFor(leader.address).metadata.put({ key: "snap/before", value: utf8("x"), requestId: "snap-before" })).revision;
  await eventually("the follower applied the write", async () => {
    assert.ok((await clientsFor(follower.address).cluster.status({})).appliedIdx >= before);
  });
  // Its own watch history holds the write, as long as the follower keeps its log.
  assert.equal((await firstEvent(follower.address, before)).revision, before);

  const stoppedAt = (await clientsFor(follower.address).cluster.status({})).appliedIdx;
  await follower.stop();
  const last = await putMany(leader.address, "snap/", 200);
  // Past the follower's log, so that it must install a snapshot. Not "past before + slots": once the leader
  // offers the stopped follower a snapshot (its resend timeout, earlier on a slow machine), that offer holds
  // compaction at its slot until the follower is back.
  await eventually("the leader compacted its log past the follower", async () => {
    assert.ok((await clientsFor(leader.address).cluster.status({})).compactedIdx > stoppedAt + 1n);
  });
  await follower.start();
  await eventually("the follower caught up", async () => {
    assert.ok((await clientsFor(follower.address).cluster.status({})).appliedIdx >= last);
  }, 30_000);

  const { detail } = await watchRefusal(follower.address, before);
  assert.equal(detail.requestedRevision, before);
  assert.ok(detail.oldestRetainedRevision > before, `oldest retained ${detail.oldestRetainedRevision} > ${before}`);
  assert.ok(detail.currentRevision >= last);
  // History is per node: the leader, which never installed a snapshot, still delivers from there.
  assert.equal((await firstEvent(leader.address, before)).revision, before);
  await cluster.close();
});

// A member that is down does not pin the leader's log (issue 12: state at any size). On real processes:
// with one follower killed, the leader keeps compacting, round after round of writes, past every snapshot it
// might have offered the dead follower (an offer nobody fetches stops holding compaction after
// --snapshot-offer-hold-ms, and none is copied for an unreachable peer: snapshot/snapshot-offers.ts). When
// the follower returns it catches up by snapshot and holds exactly the leader's keys.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { NodeState, type KeyValue } from "@omnimeta/proto";
import { ProcessCluster } from "./process-cluster.ts";
import { clientsFor, eventually, listAll, utf8 } from "./clients.ts";

const clusters: ProcessCluster[] = [];
after(() => Promise.all(clusters.map((c) => c.close())));

const row = (kv: KeyValue) => `${kv.key} v${kv.version} c${kv.createRevision} m${kv.modRevision} ${Buffer.from(kv.value).toString()}`;

test("with a follower down, the leader's log is compacted round after round, and the follower catches up by snapshot when it returns", { timeout: 120_000 }, async () => {
  const cluster = new ProcessCluster(["--compaction-slots", "20", "--snapshot-offer-hold-ms", "300"]);
  clusters.push(cluster);
  await cluster.startProvisioned(3);
  const leaderIdx = await cluster.leaderIndex();
  const leader = clientsFor(cluster.nodes[leaderIdx]!.address);
  const follower = cluster.nodes[(leaderIdx + 1) % 3]!;
  await leader.metadata.put({ key: "down/first", value: utf8("x") });
  await follower.kill("SIGKILL");

  let last = 0n;
  let compacted = 0n;
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 60; i++) last = (await leader.metadata.put({ key: `down/${i % 7}`, value: utf8(`${round}-${i}`), requestId: `down-${round}-${i}` })).revision;
    // Each round's writes get compacted, with the follower still down: nothing holds the log for it.
    const floor = last - 40n;
    compacted = await cluster.withLogsOnFailure(eventually(`round ${round}: the leader compacted past ${floor}`, async () => {
      const s = await leader.cluster.status({});
      assert.ok(s.compactedIdx > floor, `compacted ${s.compactedIdx}, applied ${s.appliedIdx}`);
      return s.compactedIdx;
    }, 20_000));
  }
  assert.ok(compacted > 200n, `the log was compacted to ${compacted}`);

  const mark = follower.logs.length;
  await follower.start();
  await cluster.withLogsOnFailure(eventually("the follower caught up", async () => {
    const s = await clientsFor(follower.address, 2000).cluster.status({});
    assert.ok(s.state === NodeState.ACTIVE && s.appliedIdx >= last, `at ${s.appliedIdx} of ${last} (${NodeState[s.state]})`);
  }, 30_000));
  assert.ok(follower.logs.slice(mark).some((l) => l.includes("snapshot transfer finished")), "it caught up by installing a snapshot");
  assert.deepEqual((await listAll(clientsFor(follower.address))).map(row), (await listAll(leader)).map(row), "the follower holds exactly the leader's keys");
});

// The harness on real metad processes: peer traffic really goes through the link proxies (isolating
// the leader makes the others elect a new one), SIGSTOP and SIGKILL act on the real process, and
// close() leaves no process behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProcessCluster } from "../../src/cluster/process-cluster.ts";
import { trackedChildCount } from "../../src/cluster/cleanup.ts";
import { executeOp } from "../../src/workload/execute-op.ts";
import { waitFor } from "../../src/util/wait-for.ts";

/** The leader as seen by the given nodes, once they all agree on one that is not `not`. */
async function newLeader(cluster: ProcessCluster, askers: string[], not: string): Promise<string> {
  return waitFor(`a leader other than ${not}`, async () => {
    const statuses = await Promise.all(askers.map((n) => cluster.status(n)));
    const ids = new Set(statuses.map((s) => s.leaderId));
    if (ids.size !== 1 || statuses[0].leaderId === 0n) return undefined;
    const name = cluster.nodes.find((n) => n.address === statuses[0].leaderAddress)?.name;
    return name !== undefined && name !== not ? name : undefined;
  }, 30_000, 200);
}

test("isolating the leader through its link proxies, pausing it and killing it each hand leadership to the others", async (t) => {
  const cluster = await ProcessCluster.start({ size: 3 });
  t.after(() => cluster.close());
  const first = await waitFor("a leader", () => cluster.leader(), 20_000);
  const others = cluster.nodes.map((n) => n.name).filter((n) => n !== first);

  cluster.network.isolate(first);
  const second = await newLeader(cluster, others, first);
  const write = await waitFor("a definite write", async () => {
    const r = await executeOp(cluster.client(second), { f: "put", key: "h", value: "during-isolation", pre: { kind: "none" } }, "iso-1", 5000);
    return r.type === "info" ? undefined : r;
  }, 20_000);
  assert.equal(write.type, "ok");
  assert.deepEqual({ ...write.output, revision: undefined }, { kind: "written", version: 1, revision: undefined });
  assert.ok(cluster.network.proxy(first, second).acceptedCount > 0, "the isolated node dialled its peer through the proxy");
  cluster.network.heal();
  await cluster.waitHealthy(30_000);

  const leader = (await cluster.leader())!;
  cluster.pause(leader);
  const third = await newLeader(cluster, cluster.nodes.map((n) => n.name).filter((n) => n !== leader), leader);
  cluster.resume(leader);
  await cluster.waitHealthy(30_000);

  await cluster.kill(third);
  assert.equal(cluster.node(third).state, "stopped");
  await newLeader(cluster, cluster.nodes.map((n) => n.name).filter((n) => n !== third), third);
  await cluster.restart(third);
  await cluster.waitHealthy(30_000);
  // A read may meet one more leader change right after the restart; it is retried, never wrong.
  const read = await waitFor("a definite read", async () => {
    const r = await executeOp(cluster.client(third), { f: "get", key: "h" }, "", 5000);
    return r.type === "info" ? undefined : r;
  }, 20_000);
  assert.deepEqual(read, { type: "ok", output: { kind: "value", value: "during-isolation", version: 1 } });
});

test("close() kills every node, even a paused one", async () => {
  const before = trackedChildCount();
  const cluster = await ProcessCluster.start({ size: 2 });
  assert.equal(trackedChildCount(), before + 2);
  cluster.pause("n2");
  await cluster.close();
  assert.equal(trackedChildCount(), before);
});

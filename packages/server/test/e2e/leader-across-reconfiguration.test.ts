// A membership change moves no leadership (issue 11: no leader change under fault-free load; issue 12: a
// join must not stop the writes). On real processes: the node that decided a StopSign goes on leading the
// next configuration without an election (OmniPaxos.applyPendingSwitch -> BallotLeaderElection
// .assumeLeadership). Before, every member began the new configuration at ballot n = 0 and, a round later,
// the highest node id among the ready members won: each join moved the leader to the newest old member,
// failed the writes pending at the old one, and paused writes for an election round.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ProcessCluster } from "./process-cluster.ts";
import { clientsFor, eventually, utf8 } from "./clients.ts";

const clusters: ProcessCluster[] = [];
after(() => Promise.all(clusters.map((c) => c.close())));

test("the provisioned node leads through every join, and a writer is never failed over while members are added", { timeout: 120_000 }, async () => {
  const cluster = new ProcessCluster();
  clusters.push(cluster);
  // n1 is provisioned (node id 1); n2 and n3 join one after the other: two reconfigurations, each of which
  // used to hand leadership to the highest id (n2, then n3).
  await cluster.startProvisioned(3, { sequential: true });
  const first = clientsFor(cluster.nodes[0]!.address);
  const s1 = await first.cluster.status({});
  assert.equal(s1.configuration?.configurationId, 3n, "two joins: configuration 3");
  assert.equal(s1.leaderId, s1.nodeId, `n1 (node ${s1.nodeId}) still leads after two joins, not node ${s1.leaderId}`);
  assert.equal(await cluster.leaderIndex(), 0, "every node agrees");

  // Writers at the leader while a 4th node joins; none needs a retry or a redirect.
  let stopped = false;
  let failures = 0;
  let writes = 0;
  let longestGapMs = 0;
  // Eight closed-loop writers: some of their puts meet the window in which the StopSign is pending or
  // ends the configuration (held and proposed again in the next one: Replica.reproposeParked).
  let last = performance.now();
  const writer = Promise.all(Array.from({ length: 8 }, async (_, w) => {
    for (let seq = 0; !stopped; seq++) {
      try {
        await first.metadata.put({ key: `lr/${w}/${seq % 100}`, value: utf8(`v${seq}`), requestId: `lr-${w}-${seq}` }, { timeoutMs: 5000 });
        writes++;
        const now = performance.now();
        longestGapMs = Math.max(longestGapMs, now - last);
        last = now;
      } catch {
        failures++;
      }
    }
  }));
  await eventually("the writer is running", async () => assert.ok(writes >= 20));
  const joiner = await cluster.addNode();
  await joiner.start();
  await cluster.waitForMembers(4);
  const afterJoin = writes;
  await eventually("writes go on after the join", async () => assert.ok(writes >= afterJoin + 20));
  stopped = true;
  await writer;

  const statuses = await Promise.all(cluster.nodes.map((n) => clientsFor(n.address).cluster.status({})));
  for (const s of statuses) {
    assert.equal(s.configuration?.configurationId, 4n, `${s.name} is in configuration 4`);
    assert.equal(s.leaderId, s1.nodeId, `${s.name} follows node ${s.leaderId}, expected the provisioned node ${s1.nodeId}`);
  }
  assert.equal(failures, 0, `${failures} writes failed during the join`);
  // An election round is 250 ms, and the old behaviour paid one plus a redirect; the StopSign and the next
  // configuration's Prepare are a few round trips and fsyncs. 2 s leaves room for a loaded CI machine.
  assert.ok(longestGapMs < 2000, `the writer's longest gap was ${Math.round(longestGapMs)} ms`);
});

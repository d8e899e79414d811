// An isolated leader fails fast (issue 14 §1), on real metad processes whose peer links run through the
// fault proxies: cut off from both followers, the leader steps down within two election rounds, so the
// write pending at it fails at once with UNAVAILABLE (not after the partition heals or the 10 s request
// timeout), and the typed client, given the old leader first, lands on the new leader with no error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { OmnimetaClient } from "@omnimeta/client";
import { ProcessCluster } from "../../src/cluster/process-cluster.ts";
import { waitFor } from "../../src/util/wait-for.ts";

/** metad's defaults: 50 ms ticks, 5 ticks per election round. */
const roundMs = 250;

test("a leader cut off from every follower fails its pending write within two election rounds, and the client lands on the new leader without an error", async (t) => {
  const cluster = await ProcessCluster.start({ size: 3 });
  t.after(() => cluster.close());
  const old = await waitFor("a leader", () => cluster.leader(), 20_000);
  const oldNode = cluster.node(old);
  const client = new OmnimetaClient({ endpoints: [oldNode.address, ...cluster.nodes.filter((n) => n.name !== old).map((n) => n.address)], timeoutMs: 20_000 });
  t.after(() => client.close());
  await client.put("iso/before", "1");

  cluster.network.isolate(old);
  const cutAt = performance.now();
  // Straight to the old leader, no retries: what it answers is what the test judges.
  const pending = cluster.client(old).metadata.put({ key: "iso/pending", value: new TextEncoder().encode("x"), requestId: "iso-pending" }, { timeoutMs: 30_000 })
    .then(() => undefined, (e: unknown) => ConnectError.from(e));
  // Through the typed client at the same moment: its retries must hide the failover from the caller.
  const viaClient = client.put("iso/client", "2");

  const failure = await pending;
  const failedAfterMs = performance.now() - cutAt;
  assert.ok(failure instanceof ConnectError, "a write at a cut-off leader must not be acknowledged");
  assert.equal(failure.code, Code.Unavailable, failure.message);
  process.stderr.write(`isolated leader: pending write failed after ${Math.round(failedAfterMs)} ms (${(failedAfterMs / roundMs).toFixed(1)} election rounds)\n`);
  // Two rounds by design; half a second more for a loaded CI machine's timers. Without the step-down
  // the write waits for the heal or the 10 s request timeout.
  assert.ok(failedAfterMs < 2 * roundMs + 500, `the pending write failed only after ${Math.round(failedAfterMs)} ms`);
  const status = await cluster.status(old);
  assert.equal(status.isLeader, false, "the cut-off node no longer calls itself leader");

  const put = await viaClient;
  assert.ok(put.version > 0n);
  const others = cluster.nodes.filter((n) => n.name !== old).map((n) => n.name);
  const now = await waitFor("the new leader among the others", async () => {
    const l = await cluster.leader();
    return l !== undefined && l !== old ? l : undefined;
  }, 20_000);
  assert.ok(others.includes(now));
  assert.equal(new TextDecoder().decode((await client.get("iso/client")).kv?.value), "2");

  // After the heal the old leader follows the new one (sticky leadership: it does not take over again).
  cluster.network.heal();
  await cluster.waitHealthy(30_000);
  assert.equal(await cluster.leader(), now);
});

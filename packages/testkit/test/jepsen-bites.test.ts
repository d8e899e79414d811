// The fault runs must be able to fail: with request-id de-duplication switched off in every node
// (OMNIMETA_UNSAFE=no-dedup), the workload's same-id resends apply twice and the check says so.
// A node that drops live watch events fails the watch check. (`npm run jepsen:bites` shows the same
// for stale reads, acknowledging before the fsync, stale Lists and backwards serializable reads.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { shortRun } from "./jepsen-helpers.ts";

test("a cluster that applies retried requests twice fails the linearizability check", async () => {
  const v = await shortRun("kill", 105, { timeS: 12, unsafe: "no-dedup", nemesis: [] });
  assert.equal(v.valid, false, `the double applies went unnoticed: ${JSON.stringify({ ...v, keys: undefined, faultLog: undefined })}`);
  assert.ok(v.anomalies.length > 0);
  rmSync(dirname(v.history), { recursive: true, force: true });
});

test("a node that drops an occasional live watch event fails the watch check with a gap", async () => {
  const v = await shortRun("kill", 106, { timeS: 8, unsafe: "watch-gap", nemesis: [] });
  assert.equal(v.valid, false, `the dropped watch events went unnoticed: ${JSON.stringify(v.wider)}`);
  assert.ok((v.wider.byKind["watch/watch-gap"] ?? 0) > 0, JSON.stringify(v.wider.byKind));
  rmSync(dirname(v.history), { recursive: true, force: true });
});

// The checker at the scale of a CI jepsen run: generated linearizable histories pass quickly, and
// one corrupted answer in them is caught.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkEvents } from "../../src/linearizability/check.ts";
import { randomHistory } from "./random-history.ts";

const options = { clients: 8, opsPerClient: 300, keys: ["k0", "k1", "k2"], infoRate: 0.03 };

test("8 clients x 300 ops on 3 keys, with indeterminate ops, check as linearizable in well under a second of CPU", () => {
  for (const seed of [1, 2, 3]) {
    const events = randomHistory({ seed, ...options });
    const started = process.cpuUsage();
    const r = checkEvents(events);
    const used = process.cpuUsage(started);
    const cpuMs = (used.user + used.system) / 1000;
    assert.equal(r.valid, true, `seed ${seed}: ${JSON.stringify(r.anomalies.map((a) => a.explanation))}`);
    // CPU time, not wall time: CI shares its cores with other test files.
    assert.ok(cpuMs < 1000, `seed ${seed}: took ${cpuMs.toFixed(0)} ms of CPU`);
  }
});

test("corrupting one read's version in a generated history is flagged on that read's key", () => {
  for (const seed of [4, 5, 6]) {
    const events = randomHistory({ seed, ...options, infoRate: 0.01 });
    const reads = events.filter((e) => e.type === "ok" && "output" in e && e.output?.kind === "value");
    const victim = reads[Math.floor(reads.length / 2)];
    const invoke = events.find((e) => e.type === "invoke" && e.opId === victim.opId)!;
    if (victim.type === "invoke" || victim.output?.kind !== "value" || invoke.type !== "invoke") throw new Error("unreachable");
    victim.output = { ...victim.output, version: victim.output.version + 7 };
    const r = checkEvents(events);
    assert.equal(r.valid, false, `seed ${seed}`);
    assert.deepEqual(r.anomalies.map((a) => a.key), [invoke.input.key]);
    assert.ok(r.anomalies[0].strict.some((o) => o.opId === victim.opId), `seed ${seed}: the corrupted read is in the witness`);
    assert.ok(r.anomalies[0].strict.length <= 4, `seed ${seed}: witness of ${r.anomalies[0].strict.length} ops`);
  }
});

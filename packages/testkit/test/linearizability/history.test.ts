// JSONL histories round-trip, and malformed histories are refused with a readable reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pairOperations, parseJsonl, toJsonl } from "../../src/linearizability/history.ts";
import { HistoryBuilder, written } from "./history-builder.ts";

test("a history survives a JSONL round trip, and an invoke with no completion is indeterminate", () => {
  const h = new HistoryBuilder().put(1, [0, 10], "a", "x", written(1));
  h.events.push({ type: "invoke", process: 2, opId: 99, timeUs: 5, input: { f: "get", key: "a" } });
  const text = toJsonl(h.events);
  assert.equal(text.split("\n").length, 4);
  const ops = pairOperations(parseJsonl(text));
  assert.deepEqual(ops.map((o) => [o.opId, o.status, o.returnUs]), [[1, "ok", 10], [99, "info", Infinity]]);
});

test("a completion without an invoke, or two ops in flight on one process, is refused", () => {
  assert.throws(() => pairOperations([{ type: "ok", process: 1, opId: 1, timeUs: 1, output: { kind: "absent" } }]), /without an invoke/);
  assert.throws(
    () =>
      pairOperations([
        { type: "invoke", process: 1, opId: 1, timeUs: 1, input: { f: "get", key: "a" } },
        { type: "invoke", process: 1, opId: 2, timeUs: 2, input: { f: "get", key: "a" } },
      ]),
    /in flight/,
  );
  assert.throws(() => parseJsonl("{\"type\":\n"), /line 1 is not JSON/);
});

// The checker on small handmade histories: each anomaly a store could show is flagged, and each
// legal concurrent or indeterminate case passes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkEvents } from "../../src/linearizability/check.ts";
import { HistoryBuilder, absent, conflict, deleted, ifAbsent, ifVersion, value, written } from "./history-builder.ts";

test("a stale read after an acknowledged overwrite is flagged, with the key and the two ops that cannot be ordered", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", written(1))
    .put(1, [20, 30], "a", "y", written(2))
    .get(2, [40, 50], "a", value("x", 1));
  const r = checkEvents(h.sorted());
  assert.equal(r.valid, false);
  assert.equal(r.anomalies.length, 1);
  const [anomaly] = r.anomalies;
  assert.equal(anomaly.key, "a");
  assert.deepEqual(anomaly.strict.map((o) => o.opId).sort(), [2, 3]);
  assert.deepEqual(anomaly.free.map((o) => o.opId), [1]);
  assert.match(anomaly.explanation.join("\n"), /get\(a\) -> "x" v1/);
});

test("reads concurrent with a write may see either the old or the new state", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 100], "a", "x", written(1))
    .get(2, [5, 15], "a", absent)
    .get(3, [10, 20], "a", value("x", 1))
    .get(2, [30, 40], "a", value("x", 1))
    .put(3, [50, 60], "b", "z", written(1));
  const r = checkEvents(h.sorted());
  assert.equal(r.valid, true);
  assert.deepEqual(r.keys.map((k) => [k.key, k.opCount, k.verdict]), [["a", 4, "ok"], ["b", 1, "ok"]]);
});

test("reads that go back in time across clients are flagged even when each overlaps the write", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 100], "a", "x", written(1))
    .get(2, [10, 20], "a", value("x", 1))
    .get(3, [30, 40], "a", absent);
  assert.equal(checkEvents(h.sorted()).valid, false);
});

test("an indeterminate write may show up long after its client gave up", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", "info")
    .get(2, [20, 30], "a", absent)
    .get(2, [500, 510], "a", value("x", 1));
  assert.equal(checkEvents(h.sorted()).valid, true);
});

test("an indeterminate write may also never take effect", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", "info")
    .put(2, [20, 30], "a", "y", written(1))
    .get(2, [40, 50], "a", value("y", 1));
  assert.equal(checkEvents(h.sorted()).valid, true);
});

test("an indeterminate write cannot take effect before it was invoked", () => {
  const h = new HistoryBuilder()
    .get(2, [0, 10], "a", value("x", 1))
    .put(1, [20, 30], "a", "x", "info");
  assert.equal(checkEvents(h.sorted()).valid, false);
});

test("an acknowledged write that a later read does not see is flagged as lost", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", written(1))
    .put(2, [5, 15], "a", "y", "info")
    .get(3, [100, 110], "a", absent);
  const r = checkEvents(h.sorted());
  assert.equal(r.valid, false);
  assert.deepEqual(r.anomalies[0].strict.map((o) => o.opId), [1, 3]);
});

test("two compare-and-set writes on the same version cannot both succeed", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", written(1))
    .put(2, [20, 40], "a", "y", written(2), ifVersion(1))
    .put(3, [25, 45], "a", "z", written(2), ifVersion(1));
  assert.equal(checkEvents(h.sorted()).valid, false);
});

test("a compare-and-set that loses the race reports the winner's version and passes", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", written(1))
    .put(2, [20, 40], "a", "y", written(2), ifVersion(1))
    .put(3, [25, 45], "a", "z", { fail: conflict(true, 2) }, ifVersion(1))
    .put(3, [50, 60], "a", "w", { fail: conflict(true, 2) }, ifAbsent)
    .get(1, [70, 80], "a", value("y", 2));
  assert.equal(checkEvents(h.sorted()).valid, true);
});

test("a precondition failure that reports a version the key never had at that time is flagged", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", written(1))
    .put(2, [20, 30], "a", "z", { fail: conflict(true, 2) }, ifVersion(1));
  assert.equal(checkEvents(h.sorted()).valid, false);
});

test("a write applied twice (a retry without de-duplication) shows up as a version jump and is flagged", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", written(1))
    .put(1, [20, 30], "a", "y", written(2))
    .get(2, [40, 50], "a", value("y", 3));
  assert.equal(checkEvents(h.sorted()).valid, false);
});

test("delete then create restarts the version at 1, and deleting an absent key is NOT_FOUND", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", written(1))
    .put(1, [20, 30], "a", "y", written(2))
    .del(2, [40, 50], "a", { fail: conflict(true, 2) }, ifVersion(1))
    .del(2, [60, 70], "a", deleted(2), ifVersion(2))
    .del(1, [80, 90], "a", { fail: absent })
    .put(1, [100, 110], "a", "z", written(1), ifAbsent)
    .get(2, [120, 130], "a", value("z", 1));
  assert.equal(checkEvents(h.sorted()).valid, true);
});

test("a delete that reports the wrong previous version is flagged", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", written(1))
    .del(2, [20, 30], "a", deleted(2));
  assert.equal(checkEvents(h.sorted()).valid, false);
});

test("failures without an observation and reads without an answer are ignored; other keys stay independent", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", { fail: null })
    .get(2, [20, 30], "a", "info")
    .get(3, [40, 50], "a", absent)
    .put(1, [60, 70], "b", "q", written(1))
    .get(3, [80, 90], "b", value("stale", 1));
  const r = checkEvents(h.sorted());
  assert.equal(r.valid, false);
  assert.deepEqual(r.keys.map((k) => [k.key, k.opCount, k.verdict]), [["a", 1, "ok"], ["b", 2, "illegal"]]);
  assert.deepEqual(r.anomalies.map((a) => a.key), ["b"]);
});

test("a read of a value whose write definitely failed is flagged, and never explained by that write", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", { fail: null })
    .get(2, [20, 30], "a", value("x", 1));
  assert.equal(checkEvents(h.sorted()).valid, false);
});

test("an indeterminate write seen by a read is pinned before that read, so an earlier contrary read is flagged", () => {
  const h = new HistoryBuilder()
    .put(1, [0, 10], "a", "x", "info")
    .get(2, [20, 30], "a", value("x", 1))
    .get(3, [40, 50], "a", absent);
  const r = checkEvents(h.sorted());
  assert.equal(r.valid, false);
  assert.match(r.anomalies[0].explanation.join("\n"), /inferred from a read/);
});

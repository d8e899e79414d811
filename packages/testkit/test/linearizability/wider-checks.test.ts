// The wider checks on small handmade histories: a List checked against the per-key history at
// its revision, serializable reads per replica, watch streams; each with a legal and an illegal case.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pairOperations, type OpOutput } from "../../src/linearizability/history.ts";
import type { KvSeen, SnapshotRead, WatchSeen, WatchSegment } from "../../src/linearizability/observations.ts";
import { RevisionIndex } from "../../src/linearizability/revision-index.ts";
import { checkSnapshotReads } from "../../src/linearizability/snapshot-check.ts";
import { checkWatchStreams } from "../../src/linearizability/watch-check.ts";
import { HistoryBuilder } from "./history-builder.ts";

const KEYS = ["ka", "kb"];
const wrote = (version: number, revision: number): OpOutput => ({ kind: "written", version, revision });
const erased = (previousVersion: number, revision: number): OpOutput => ({ kind: "deleted", previousVersion, revision });
const kv = (key: string, value: string, version: number, modRevision: number): KvSeen => ({ key, value, version, modRevision });

let nextReadId = 1;
function read(r: Partial<SnapshotRead> & Pick<SnapshotRead, "callUs" | "returnUs" | "revision" | "kvs">): SnapshotRead {
  return { id: nextReadId++, kind: "list", consistency: "linearizable", node: "n1", incarnation: 0, prefix: "k", complete: true, ...r };
}

/** ka=x at revision 1 (acked by 10), kb=y at revision 2 (acked by 30). */
function twoPuts(): HistoryBuilder {
  return new HistoryBuilder().put(1, [0, 10], "ka", "x", wrote(1, 1)).put(1, [20, 30], "kb", "y", wrote(1, 2));
}

function kinds(history: HistoryBuilder, reads: SnapshotRead[]): string[] {
  return checkSnapshotReads(pairOperations(history.sorted()), reads, KEYS).findings.map((f) => `${f.check}/${f.kind}`);
}

test("a list after both puts showing both, and a list concurrent with the second showing only the first, are legal", () => {
  const reads = [
    read({ callUs: 40, returnUs: 50, revision: 2, kvs: [kv("ka", "x", 1, 1), kv("kb", "y", 1, 2)] }),
    read({ callUs: 15, returnUs: 25, revision: 1, kvs: [kv("ka", "x", 1, 1)] }),
    read({ callUs: 40, returnUs: 50, revision: 2, prefix: "kb", kvs: [kv("kb", "y", 1, 2)] }),
  ];
  assert.deepEqual(kinds(twoPuts(), reads), []);
});

test("a linearizable list invoked after a write was acknowledged that answers an older revision is stale", () => {
  assert.deepEqual(kinds(twoPuts(), [read({ callUs: 40, returnUs: 50, revision: 1, kvs: [kv("ka", "x", 1, 1)] })]), ["list/stale-revision"]);
});

test("a list whose revision covers a put but which leaves that key out is missing an entry", () => {
  assert.deepEqual(kinds(twoPuts(), [read({ callUs: 40, returnUs: 50, revision: 2, kvs: [kv("ka", "x", 1, 1)] })]), ["list/missing-entry"]);
});

test("an entry overwritten at or below the list's revision is stale, and a value nobody wrote is a phantom", () => {
  const h = twoPuts().put(2, [32, 36], "ka", "x2", wrote(2, 3));
  assert.deepEqual(kinds(h, [read({ callUs: 40, returnUs: 50, revision: 3, kvs: [kv("ka", "x", 1, 1), kv("kb", "y", 1, 2)] })]), ["list/stale-entry"]);
  assert.deepEqual(kinds(twoPuts(), [read({ callUs: 40, returnUs: 50, revision: 2, kvs: [kv("ka", "zz", 1, 1), kv("kb", "y", 1, 2)] })]), ["list/wrong-entry"]);
  assert.deepEqual(kinds(twoPuts(), [read({ callUs: 40, returnUs: 50, revision: 4, kvs: [kv("ka", "zz", 2, 4), kv("kb", "y", 1, 2)] })]), ["list/phantom-entry"]);
});

test("an unacknowledged put explains an entry, and an unacknowledged delete explains an absence", () => {
  const h = twoPuts().put(2, [32, 36], "ka", "z", "info").del(3, [33, 37], "kb", "info");
  assert.deepEqual(kinds(h, [read({ callUs: 40, returnUs: 50, revision: 5, kvs: [kv("ka", "z", 2, 4)] })]), []);
});

test("a list answering the revision of a write invoked after it returned reads from the future", () => {
  assert.deepEqual(kinds(twoPuts(), [read({ callUs: 12, returnUs: 14, revision: 2, kvs: [kv("ka", "x", 1, 1), kv("kb", "y", 1, 2)] })]), ["list/revision-from-future"]);
});

test("linearizable lists one after the other must not answer decreasing revisions", () => {
  const h = twoPuts().put(1, [100, 110], "ka", "x2", wrote(2, 3));
  const first = read({ callUs: 101, returnUs: 105, revision: 3, kvs: [kv("ka", "x2", 2, 3), kv("kb", "y", 1, 2)] });
  const later = read({ callUs: 106, returnUs: 108, revision: 2, kvs: [kv("ka", "x", 1, 1), kv("kb", "y", 1, 2)] });
  assert.deepEqual(kinds(h, [first, later]), ["list/list-revision-backwards"]);
  assert.deepEqual(kinds(h, [first, { ...later, callUs: 104 }]), [], "overlapping lists may be ordered either way");
});

test("serializable reads may be stale, on any node, but never go backwards on one replica", () => {
  const h = twoPuts().put(1, [100, 110], "ka", "x2", wrote(2, 3));
  const s = (node: string, callUs: number, revision: number, kvs: KvSeen[], incarnation = 0) =>
    read({ kind: "get", consistency: "serializable", prefix: kvs[0]!.key, node, incarnation, callUs, returnUs: callUs + 5, revision, kvs });
  const newer = s("n1", 200, 3, [kv("ka", "x2", 2, 3)]);
  assert.deepEqual(kinds(h, [s("n1", 150, 1, [kv("ka", "x", 1, 1)]), newer, s("n2", 210, 1, [kv("ka", "x", 1, 1)])]), []);
  assert.deepEqual(kinds(h, [newer, s("n1", 210, 1, [kv("ka", "x", 1, 1)])]), ["serializable/serializable-backwards"]);
  assert.deepEqual(kinds(h, [newer, s("n1", 210, 1, [kv("ka", "x", 1, 1)], 1)]), [], "a wiped node is a new replica");
  assert.deepEqual(kinds(h, [newer, s("n1", 202, 1, [kv("ka", "x", 1, 1)])]), [], "overlapping reads may be ordered either way");
  assert.deepEqual(kinds(h, [s("n1", 150, 1, [kv("ka", "ghost", 1, 1)])]), ["serializable/wrong-entry"]);
});

test("acknowledged revisions must be distinct and increase with real time", () => {
  const twice = new RevisionIndex(pairOperations(twoPuts().put(2, [40, 50], "ka", "w", wrote(2, 2)).sorted()));
  assert.deepEqual(twice.findings.map((f) => f.kind), ["duplicate-revision"]);
  const backwards = new RevisionIndex(pairOperations(new HistoryBuilder().put(1, [0, 10], "ka", "x", wrote(1, 5)).put(1, [20, 30], "kb", "y", wrote(1, 3)).sorted()));
  assert.deepEqual(backwards.findings.map((f) => f.kind), ["revision-order"]);
  assert.deepEqual(new RevisionIndex(pairOperations(twoPuts().sorted())).findings, []);
});

/** ka=x@1, kb=y@2, ka=x2@4 (revision 3 went to a failed write), kb deleted @5. */
function fourWrites(): HistoryBuilder {
  return twoPuts().put(2, [31, 35], "ka", "x2", wrote(2, 4)).del(1, [40, 45], "kb", erased(1, 5));
}
const ev = (revision: number, type: WatchSeen["type"], seen: KvSeen): WatchSeen => ({ type, revision, kv: seen, atUs: 100 });
const E1 = ev(1, "put", kv("ka", "x", 1, 1));
const E2 = ev(2, "put", kv("kb", "y", 1, 2));
const E4 = ev(4, "put", kv("ka", "x2", 2, 4));
const E5 = ev(5, "delete", kv("kb", "", 0, 5));

function watchKinds(h: HistoryBuilder, segments: WatchSegment[]): string[] {
  return checkWatchStreams(pairOperations(h.sorted()), [{ node: "n1", prefix: "k", segments }]).findings.map((f) => f.kind);
}

test("a watch stream resumed after a break, and one that skipped past a compaction by re-listing, are legal", () => {
  assert.deepEqual(watchKinds(fourWrites(), [
    { startRevision: 1, events: [E1, E2], end: "broken" },
    { startRevision: 3, events: [E4, E5], end: "stopped" },
  ]), []);
  const r = checkWatchStreams(pairOperations(fourWrites().sorted()), [{ node: "n1", prefix: "k", segments: [
    { startRevision: 1, events: [E1], end: "compacted", relistRevision: 3 },
    { startRevision: 4, events: [E4, E5], end: "stopped" },
  ] }]);
  assert.deepEqual([r.findings, r.events, r.compacted, r.resumes], [[], 3, 1, 0]);
});

test("a watch stream that skips an acknowledged write has a gap; one that repeats an event has a duplicate", () => {
  assert.deepEqual(watchKinds(fourWrites(), [{ startRevision: 1, events: [E1, E4, E5], end: "stopped" }]), ["watch-gap"]);
  assert.deepEqual(watchKinds(fourWrites(), [
    { startRevision: 1, events: [E1, E2], end: "broken" },
    { startRevision: 2, events: [E2, E4], end: "stopped" },
  ]), ["watch-resume", "watch-duplicate"]);
  assert.deepEqual(watchKinds(fourWrites(), [{ startRevision: 1, events: [E2, E1], end: "stopped" }]), ["watch-out-of-order", "watch-gap"]);
});

test("a watch event that no write can have made is a phantom, and one at another write's revision is wrong", () => {
  assert.deepEqual(watchKinds(fourWrites(), [{ startRevision: 1, events: [E1, E2, ev(3, "put", kv("ka", "ghost", 2, 3)), E4], end: "stopped" }]), ["watch-phantom"]);
  assert.deepEqual(watchKinds(fourWrites(), [{ startRevision: 1, events: [E1, ev(2, "put", kv("ka", "y", 2, 2))], end: "stopped" }]), ["watch-wrong-event"]);
});

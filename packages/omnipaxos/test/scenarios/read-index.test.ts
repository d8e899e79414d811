// Read index: the leader confirms leadership with one quorum round (no log entry) shared by many
// reads; reads fail on a non-leader and when leadership is lost.
import assert from "node:assert/strict";
import { test } from "node:test";
import { scenario } from "../harness/scenario.ts";

test("reads at the leader become ready after one quorum round, without a log entry", () => {
  const c = scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 3 a b
    tick 1
  `);
  const op = c.node(3).op;
  const before = op.getAcceptedIdx();
  for (let t = 1; t <= 100; t++) op.readIndex(t);
  assert.deepEqual(op.takeReadyReads(), []);
  c.settle();
  const ready = op.takeReadyReads();
  assert.equal(ready.length, 100);
  assert.ok(ready.every((r) => r.idx === 2));
  assert.equal(op.getAcceptedIdx(), before, "no log entry was written");
});

test("a read waits until everything accepted before it is decided", () => {
  const c = scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    cut 3>1 3>2
    append 3 a
    tick 1
  `);
  const op = c.node(3).op;
  op.readIndex(7);
  c.tick(3);
  assert.deepEqual(op.takeReadyReads(), [], "no quorum: not confirmed");
  c.healAll();
  c.tick(12);
  assert.deepEqual(op.takeReadyReads(), [{ token: 7, idx: 1 }]);
  assert.equal(op.getDecidedIdx(), 1);
});

test("a read at a follower fails at once; reads pending at a deposed leader fail", () => {
  const c = scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
  `);
  c.node(1).op.readIndex(1);
  assert.deepEqual(c.node(1).op.takeFailedReads(), [1]);
  const op = c.node(3).op;
  c.cut(3, 1);
  c.cut(3, 2);
  op.readIndex(2);
  c.tick(30); // nodes 1 and 2 elect node 2
  c.healAll();
  c.tick(20); // node 3 hears the higher ballot and steps down
  assert.equal(c.node(3).op.getCurrentLeader(), 2);
  assert.deepEqual(op.takeFailedReads(), [2]);
});

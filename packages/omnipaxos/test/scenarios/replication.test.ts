// Sequence Paxos scenarios: appends at the leader, at followers and before any leader exists,
// batching, a diverged follower synced by AcceptSync, forwarded proposals retried across a leader
// change (exactly once with entry ids, reported dropped without), and lossy links.
import assert from "node:assert/strict";
import { test } from "node:test";
import { scenario } from "../harness/scenario.ts";

test("an append at the leader is decided on every node", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 3 a b c
    tick 1
    expect decided a b c
  `);
});

test("an append at a follower is forwarded to the leader and decided", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 1 x
    append 2 y
    tick 1
    expect decided x y
  `);
});

test("appends made before any leader exists are decided once one is elected", () => {
  scenario(`
    nodes 1 2 3
    append 1 a
    append 2 b
    append 3 c
    tick-until decided c a b within 30
  `);
});

test("a leader batches many appends into few AcceptDecide messages", () => {
  const c = scenario(`
    nodes 1 2 3 batch 50
    tick-until leader 3 within 20
  `);
  const before = c.delivered;
  for (let i = 0; i < 500; i++) c.node(3).op.append(`e${i}`);
  c.settle();
  assert.equal(c.decidedState(1).length, 500);
  // 10 batches x 2 followers x (AcceptDecide + Accepted), plus Decides: far fewer than one per entry
  assert.ok(c.delivered - before < 100, `delivered ${c.delivered - before} messages for 500 entries`);
});

test("a diverged follower (an old leader with undecided entries) is synced to the decided log", () => {
  scenario(`
    nodes 1 2 3 no-entry-ids
    tick-until leader 3 within 20
    append 3 a
    tick 1
    isolate 3
    # x and y reach only the old leader's log
    append 3 x y
    tick 1
    expect accepted-has 3 x
    tick-until leader 2 on 1,2 within 20
    append 1 b c
    tick 2
    expect decided a b c on 1,2
    heal all
    tick 30
    # the old leader's divergent suffix was overwritten; without entry ids its proposals are reported
    expect decided a b c
    expect accepted-lacks 3 x
    expect dropped 3 x y
  `);
});

test("with entry ids, proposals of a leader that lost leadership are re-proposed exactly once", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 3 a
    tick 1
    isolate 3
    append 3 x y
    tick 1
    tick-until leader 2 on 1,2 within 20
    append 1 b
    tick 2
    heal all
    tick 40
    expect decided a b x y
    expect dropped 3
  `);
});

test("a proposal forwarded to a leader that fails before deciding it is retried with the next leader", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    # node 3 receives and appends the forwarded entry, but nothing it sends arrives; then it crashes
    cut 3>1 3>2
    append 1 f
    tick 1
    expect accepted-has 3 f
    crash 3
    heal all
    tick-until leader 2 on 1,2 within 30
    tick 30
    expect decided f on 1,2
    restart 3
    tick 30
    expect decided f
  `);
});

test("entries are decided over links that drop every other message", () => {
  const c = scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
  `);
  // Drop every second delivery by toggling a link cut around single settles.
  for (let i = 0; i < 20; i++) {
    c.node(1 + (i % 3)).op.append(`v${i}`);
    if (i % 2 === 0) c.cut(3, 1);
    c.tick(1);
    c.heal(3, 1);
  }
  c.tick(50);
  assert.equal(c.decidedState(1).length, 20);
  assert.deepEqual(c.decidedState(1), c.decidedState(3));
});

// Ballot Leader Election scenarios: initial election, priorities, leader crash and recovery, and
// the paper's partial-connectivity cases (quorum-loss, constrained election, chained), each with
// the paper's bound of 4 election timeouts (electionTickTimeout = 5 ticks here).
import { test } from "node:test";
import { scenario } from "../harness/scenario.ts";

test("without priorities the highest node id is elected within 4 election timeouts", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
  `);
});

test("with priorities the highest-priority node is elected", () => {
  scenario(`
    nodes 1 2 3 priority 1=10
    tick-until leader 1 within 20
    append 2 a
    tick 2
    expect decided a
  `);
});

test("after the leader crashes a new leader is elected and the old one rejoins as a follower", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 1 a b
    tick 2
    expect decided a b
    crash 3
    # a new leader within 4 election timeouts, and it keeps deciding
    tick-until leader 2 on 1,2 within 20
    append 1 c
    tick 2
    expect decided a b c on 1,2
    restart 3
    # the recovered node does not pre-empt the healthy leader; it catches up through PrepareReq
    tick 30
    expect leader 2
    expect decided a b c
  `);
});

test("quorum-loss: only the hub node is quorum-connected, and it is elected", () => {
  scenario(`
    # Fig. 1a of the paper: every link but those to node 3 fails; node 5 (the leader) loses its quorum
    nodes 1 2 3 4 5
    tick-until leader 5 within 20
    links 1-3 2-3 4-3 5-3
    tick-until leader 3 within 20
    append 1 a
    tick 3
    expect decided a
  `);
});

test("constrained election: the only quorum-connected node is elected although its log is behind", () => {
  scenario(`
    nodes 1 2 3 4 5
    tick-until leader 5 within 20
    isolate 1
    append 5 a b c
    tick 2
    expect decided a b c on 2,3,4,5
    expect decided-count 0 on 1
    # the leader fails, node 1 (behind) is the only node connected to a quorum
    crash 5
    heal all
    links 1-2 1-3 1-4
    tick-until leader 1 on 1,2,3,4 within 20
    # node 1 adopted the decided entries from the promises it gathered
    expect decided a b c on 1,2,3,4
    append 2 d
    tick 3
    expect decided a b c d on 1,2,3,4
  `);
});

test("chained: with the 1-3 link cut a stable leader emerges and progress is made", () => {
  scenario(`
    # Fig. 1c: 1 - 2 - 3 in a chain; node 3 leads and node 1 cannot hear it
    nodes 1 2 3
    tick-until leader 3 within 20
    cut 1-3
    tick-until leader 1 on 1,2 within 20
    append 2 a
    tick 3
    expect decided a on 1,2
    # no livelock: the leader stays put for many rounds
    tick 100
    expect leader 1 on 1,2
    heal all
    tick 30
    expect decided a
  `);
});

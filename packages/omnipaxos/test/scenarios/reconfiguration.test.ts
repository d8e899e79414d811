// Reconfiguration by StopSign with one continuous log: the StopSign takes a slot, the next
// configuration continues right after it, new members start empty and are synced by the new
// leader, removed members and members that missed the decision learn it, and an undecided
// StopSign can be discarded by a new leader.
import { test } from "node:test";
import { scenario } from "../harness/scenario.ts";

test("after a reconfiguration appends continue at the next index of the same log", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 3 a b
    tick 1
    # replace node 3 by node 4: the StopSign takes slot 2
    reconfigure 3 2:1,2,4
    tick 1
    expect slot 1 2 stopsign:2
    expect config 2 on 1,2,3
    expect removed 3
    expect append-error 3 removed
    start 4 config 2:1,2,4
    # node 4 starts empty, gets the prefix (from the new leader's sync or the removed node's
    # catch-up), becomes a candidate and, having the highest id, leads
    tick-until leader 4 on 1,2,4 within 30
    append 4 c
    tick 2
    expect decided a b c on 1,2,4
    expect slot 4 2 stopsign:2
    expect slot 4 3 c
    expect slot 1 3 c
  `);
});

test("a proposal after a pending StopSign is refused with a typed error", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    reconfigure 3 2:1,2,3
    expect append-error 3 reconfigured
    tick 2
    expect config 2
    append 3 after
    tick-until decided after within 30
  `);
});

test("a reconfiguration proposed at a follower is forwarded to the leader", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 1 a
    reconfigure 1 2:1,2,3,4
    start 4 config 2:1,2,3,4
    tick 2
    expect config 2 on 1,2,3
    tick-until leader 3 on 1,2,3,4 within 30
    append 4 b
    tick 2
    expect decided a b
  `);
});

test("an undecided StopSign is discarded by a new leader and the configuration goes on", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 3 a
    tick 1
    isolate 3
    reconfigure 3 2:1,2
    tick 1
    expect accepted-has 3 stopsign:2
    tick-until leader 2 on 1,2 within 20
    append 1 b
    tick 2
    heal all
    tick 30
    expect config 1
    expect accepted-lacks 3 stopsign:2
    expect decided a b
  `);
});

test("a member that missed the decided StopSign learns it from the next configuration", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 3 a
    tick 1
    isolate 1
    reconfigure 3 2:1,2,3
    tick 2
    expect config 2 on 2,3
    expect config 1 on 1
    append 3 b
    tick 2
    heal all
    tick-until config 2 on 1 within 40
    tick 10
    expect decided a b
    append 1 c
    tick 3
    expect decided a b c
  `);
});

test("a removed member that missed the decision learns it was removed", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    isolate 1
    reconfigure 3 2:2,3
    tick 2
    expect config 2 on 2,3
    heal all
    tick-until removed 1 within 40
    expect config 2 on 1
  `);
});

test("after a full replacement the new members alone carry the log", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 1 a b
    tick 1
    reconfigure 3 2:4,5,6
    tick 2
    start 4 config 2:4,5,6
    start 5 config 2:4,5,6
    start 6 config 2:4,5,6
    tick 2
    # old members stay up until the new ones hold the prefix, then go away
    expect removed 1
    tick-until leader 6 on 4,5,6 within 40
    crash 1
    crash 2
    crash 3
    append 4 c
    tick 3
    expect decided a b c on 4,5,6
  `);
});

test("a new member with empty storage that is behind a snapshot receives it", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 1 a b c d
    tick 1
    reconfigure 3 2:1,2,3,4
    tick 2
    append 2 e
    tick 2
    snapshot 3 all
    tick 1
    expect compacted 3 >= 5
    start 4 config 2:1,2,3,4
    tick 30
    expect decided a b c d e
    expect compacted 4 >= 5
  `);
});

test("a new member that becomes ready with a higher ballot does not depose the live leader (sticky leadership)", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 3 a
    tick 1
    reconfigure 3 2:1,2,4
    tick 1
    expect config 2 on 1,2,3
    # node 4 is not started yet: nodes 1 and 2 form a quorum of configuration 2 and elect 2
    tick-until leader 2 on 1,2 within 30
    append 2 b
    tick 2
    expect decided a b on 1,2
    start 4 config 2:1,2,4
    # node 4 (highest id, so the highest ballot of its round) gets the prefix and becomes a candidate;
    # the leader is alive, so leadership stays where it is
    tick 40
    expect leader 2 on 1,2,4
    append 4 c
    tick 3
    expect decided a b c on 1,2,4
  `);
});

test("the leader that decided a StopSign leads the next configuration at once, with no election, even when another member would win one", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    crash 3
    tick-until leader 2 on 1,2 within 30
    restart 3
    tick-until leader 2 on 1,2,3 within 30
    append 2 a
    tick 1
    # add node 4: in configuration 2 every ballot starts over, and node 3 (the highest id among the ready
    # members) would win the first election; the old leader goes on instead, before a round has ended
    reconfigure 2 2:1,2,3,4
    start 4 config 2:1,2,3,4
    tick-until config 2 on 1,2,3 within 3
    tick-until leader 2 on 1,2,3 within 3
    append 2 b
    tick 2
    expect decided a b on 1,2,3
    tick-until leader 2 on 1,2,3,4 within 30
    tick 40
    expect leader 2 on 1,2,3,4
    append 4 c
    tick 3
    expect decided a b c on 1,2,3,4
  `);
});

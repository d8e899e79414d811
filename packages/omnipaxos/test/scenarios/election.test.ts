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

test("chained: with the 1-3 link cut the leader keeps a quorum through node 2, without livelock", () => {
  scenario(`
    # Fig. 1c: 1 - 2 - 3 in a chain; node 3 leads and node 1 cannot hear it. Node 2 is
    # quorum-connected and still hears node 3, so it vouches for it: node 1 does not start a
    # competing election (in Raft this topology livelocks), and 2+3 keep deciding.
    nodes 1 2 3
    tick-until leader 3 within 20
    cut 1-3
    append 2 a
    tick-until decided a on 2,3 within 20
    tick 100
    expect leader 3 on 2,3
    expect no-leader on 1,2
    append 2 b
    tick 3
    expect decided a b on 2,3
    heal all
    tick 30
    expect decided a b
  `);
});

test("a stale leader out of reach of the new one learns it was deposed and re-elects the quorum", () => {
  scenario(`
    # Node 3 leads, then is isolated; 1 and 2 elect node 2. Then node 2 is isolated and only
    # links 1-3 remain... plus 3 is the only way to a quorum: 3 must learn (NotAccepted) that its
    # ballot is stale and outrank node 2's.
    nodes 1 2 3 4 5
    tick-until leader 5 within 20
    isolate 5
    tick-until leader 4 on 1,2,3,4 within 30
    append 1 a
    tick 2
    expect decided a on 1,2,3,4
    heal all
    isolate 4
    links 5-1 5-2 5-3
    tick-until leader 5 on 1,2,3,5 within 40
    append 1 b
    tick 3
    expect decided a b on 1,2,3,5
  `);
});

test("a leader that steps down hands over within 2 election timeouts, loses nothing, and keeps following", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 1 a b
    tick 2
    expect decided a b
    # stepDown before a graceful shutdown: node 3 stops being a candidate and says so in its
    # heartbeat replies, so the followers re-elect at their next round (no missed rounds waited for)
    step-down 3
    tick-until leader 2 within 10
    append 3 c
    tick 3
    expect decided a b c
    # the old leader stays a follower while it is up
    tick 30
    expect leader 2
  `);
});

test("an isolated leader steps down within two election timeouts, and rejoins the new leader without deposing it", () => {
  scenario(`
    nodes 1 2 3
    tick-until leader 3 within 20
    append 1 a
    tick 2
    expect decided a
    isolate 3
    # one full round without a quorum (at most two timeouts of 5 ticks): node 3 no longer leads, nor
    # names itself leader, so its clients fail over at once instead of waiting for the heal
    tick 10
    expect no-leader on 3
    expect leader none on 3
    tick-until leader 2 on 1,2 within 20
    append 1 b
    tick 2
    expect decided a b on 1,2
    heal all
    # the old leader follows the new one (sticky: its lower ballot does not pre-empt it) and catches up
    tick 30
    expect leader 2
    expect decided a b
  `);
});

// A follower whose first Accepted in a ballot reaches the leader after the slot it covers was already
// decided (a quorum without it) still learns the decided index at once, in a Decide, instead of waiting
// for the next batch or the leader's resend timeout. Found by the replica-durability test, which saw the
// second follower of three stay at decided 0 with the slot in its log, because the leader sends a Decide
// only when its decided index moves and, at that moment, the follower's progress was not yet acknowledged.
import assert from "node:assert/strict";
import { test } from "node:test";
import { OmniPaxos } from "../../src/omni-paxos.ts";
import { MemoryStorage } from "../../src/memory-storage.ts";
import type { Message } from "../../src/messages.ts";
import { snapshotSpec, type Snap } from "../harness/cluster.ts";

test("a follower acknowledged only after a decision gets that decision in a Decide", () => {
  const ids = [1, 2, 3];
  const nodes = new Map<number, OmniPaxos<string, Snap>>();
  for (const pid of ids) {
    nodes.set(pid, new OmniPaxos<string, Snap>(
      { cluster: { configurationId: 1, nodes: ids }, server: { pid, electionTickTimeout: 5, resendMessageTickTimeout: 1000, leaderPriority: pid === 1 ? 1 : 0 } },
      new MemoryStorage<string, Snap>(),
      { snapshot: snapshotSpec, entryId: (e) => e },
    ));
  }
  const held: Message<string, Snap>[] = [];
  // Delivers until quiet; messages for which `hold` is true are kept back.
  const pump = (hold: (m: Message<string, Snap>) => boolean = () => false): Message<string, Snap>[] => {
    const seen: Message<string, Snap>[] = [];
    for (let moved = true; moved;) {
      moved = false;
      for (const n of nodes.values()) {
        for (const m of n.takeOutgoingMessages()) {
          moved = true;
          seen.push(m);
          if (hold(m)) held.push(m);
          else nodes.get(m.to)!.handleIncoming(m);
        }
      }
    }
    return seen;
  };
  const leader = nodes.get(1)!;
  // Elect node 1, holding back node 2's answers to the leader's sync: node 2 is synced but not acknowledged.
  const from2 = (m: Message<string, Snap>) => m.from === 2 && m.to === 1 && m.kind === "Accepted";
  for (let i = 0; i < 100 && !(leader.getStatus().role === "leader" && leader.getStatus().phase === "accept"); i++) {
    for (const n of nodes.values()) n.tick();
    pump(from2);
  }
  assert.equal(leader.getStatus().phase, "accept", "node 1 leads in the Accept phase");
  leader.append("x");
  pump(from2);
  assert.equal(leader.getDecidedIdx(), 1, "node 3's acceptance and the leader's decide x");
  assert.equal(nodes.get(2)!.getAcceptedIdx(), 1, "node 2 holds x");
  assert.equal(nodes.get(2)!.getDecidedIdx(), 0, "node 2 has not heard of the decision yet");
  // Node 2's held Accepted messages arrive now; nothing else happens (no ticks, no new appends).
  for (const m of held.splice(0)) leader.handleIncoming(m);
  const after = pump();
  assert.ok(after.some((m) => m.kind === "Decide" && m.to === 2 && m.decidedIdx === 1), "the leader sends node 2 the decision");
  assert.equal(nodes.get(2)!.getDecidedIdx(), 1, "node 2 learns x is decided");
});

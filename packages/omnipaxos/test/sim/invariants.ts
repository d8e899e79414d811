// The safety invariants, read off every running node after every step through the public API only:
// decided prefixes agree and never change, only appended values are decided and at most once, each value
// lands inside the slots of the configuration it was appended in, one leader per ballot, snapshots equal
// the state built from the full decided log.

import type { ClusterConfig } from "../../src/index.ts";
import type { Slot } from "./checkers/decided-log.ts";
import { check } from "./checkers/violation.ts";
import { describeDigest, digestEquals } from "./digest-snapshot.ts";
import type { Entry, Node, SimNode } from "./sim-node.ts";
import type { Simulation } from "./simulator.ts";

export function checkInvariants(sim: Simulation): void {
  if (sim.deferredViolation !== undefined) throw sim.deferredViolation;
  checkRoundPrefixes(sim);
  for (const node of sim.nodes.values()) {
    const op = node.instance;
    if (op === undefined) continue;
    const decidedIdx = op.getDecidedIdx();
    check(decidedIdx >= node.decidedIdxSeen, "decided-prefix-stable", () => `node ${node.pid}'s decidedIdx went from ${node.decidedIdxSeen} back to ${decidedIdx} without a crash`);
    node.decidedIdxSeen = decidedIdx;
    if (decidedIdx > node.checkedIdx) verifyDecided(sim, node, op, node.checkedIdx, decidedIdx);
    checkConfigurationEnd(sim, node, op, decidedIdx);
    for (const d of op.takeDroppedProposals()) sim.fates.dropped(d.entry, d.reason, node.pid, sim.log.isDecided(d.entry));
    for (const r of op.takeReadyReads()) sim.reads.ready(node.pid, r.token, r.idx, decidedIdx);
    for (const t of op.takeFailedReads()) sim.reads.failed(node.pid, t);
    if (op.getCurrentLeader() === node.pid) {
      const st = op.getStatus();
      if (st.role === "leader") sim.leaders.observe(st.promise.configurationId, node.pid, st.promise);
    }
  }
}

/**
 * Within one round, every accepted log is a prefix of that round's leader's log: any two running nodes
 * whose accepted round is the same ballot agree on every slot both hold. Only the undecided parts are
 * compared (decided slots are covered by agreement), read from the harness's own storage objects.
 */
function checkRoundPrefixes(sim: Simulation): void {
  const byRound = new Map<string, SimNode[]>();
  for (const node of sim.nodes.values()) {
    if (node.instance === undefined) continue;
    const r = node.storage.liveAcceptedRound();
    if (r === undefined || r.n === 0 && r.pid === 0) continue; // no round yet, or a configuration's entry round
    const key = `${r.configurationId}/${r.n}/${r.priority}/${r.pid}`;
    const group = byRound.get(key);
    if (group === undefined) byRound.set(key, [node]);
    else group.push(node);
  }
  for (const [round, group] of byRound) {
    if (group.length < 2) continue;
    let longest = group[0];
    for (const n of group) if (n.storage.getLogLen() > longest.storage.getLogLen()) longest = n;
    for (const n of group) {
      if (n !== longest) comparePrefix(round, longest, n);
    }
  }
}

function comparePrefix(round: string, a: SimNode, b: SimNode): void {
  const from = Math.max(Math.min(a.storage.getDecidedIdx(), b.storage.getDecidedIdx()), a.storage.getCompactedIdx(), b.storage.getCompactedIdx());
  const to = b.storage.getLogLen();
  if (from >= to) return;
  const xs = a.storage.getEntries(from, to);
  const ys = b.storage.getEntries(from, to);
  for (let i = 0; i < ys.length; i++) {
    const x = xs[i];
    const y = ys[i];
    const same = x.kind === "entry" ? y.kind === "entry" && x.entry === y.entry : y.kind === "stopsign" && x.stopSign.nextConfig.configurationId === y.stopSign.nextConfig.configurationId;
    check(same, "round-prefix", () => `nodes ${a.pid} and ${b.pid} both accepted in round ${round} but differ at slot ${from + i}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  }
}

/** Re-reads a node's whole decided log (snapshot included) and compares it with the global one. */
export function verifyWholeLog(sim: Simulation, node: SimNode): void {
  const op = node.instance;
  if (op === undefined) return;
  verifyDecided(sim, node, op, 0, op.getDecidedIdx());
}

/** A restarted node must come back with at least the decided prefix that was durable. */
export function checkRestart(node: SimNode): void {
  const durable = node.storage.durableDecidedIdx();
  const now = node.instance!.getDecidedIdx();
  check(now >= durable, "durable-decided-prefix", () => `node ${node.pid} restarted with decidedIdx ${now}, but ${durable} was durable`);
}

function verifyDecided(sim: Simulation, node: SimNode, op: Node, fromIdx: number, toIdx: number): void {
  const pid = node.pid;
  if (fromIdx >= toIdx) return; // readDecidedSuffix(decidedIdx) is undefined, like upstream
  const suffix = op.readDecidedSuffix(fromIdx);
  check(suffix !== undefined, "read-decided", () => `node ${pid}: readDecidedSuffix(${fromIdx}) is undefined with decidedIdx ${toIdx}`);
  let idx = fromIdx;
  for (const e of suffix) {
    switch (e.kind) {
      case "snapshotted": {
        check(idx === fromIdx && e.trimmedIdx > fromIdx && e.trimmedIdx <= toIdx, "read-decided", () => `node ${pid}: snapshotted [0, ${e.trimmedIdx}) out of place at ${idx} (decided ${toIdx})`);
        const want = sim.log.stateBefore(e.trimmedIdx);
        if (want === undefined) sim.stats.unverifiedSnapshotCount++;
        else check(digestEquals(e.snapshot, want), "snapshot-state", () => `node ${pid}: snapshot of [0, ${e.trimmedIdx}) is ${describeDigest(e.snapshot)}, the full decided log gives ${describeDigest(want)}`);
        idx = e.trimmedIdx;
        break;
      }
      case "trimmed":
        check(idx === fromIdx && e.trimmedIdx > fromIdx && e.trimmedIdx <= toIdx, "read-decided", () => `node ${pid}: trimmed [0, ${e.trimmedIdx}) out of place at ${idx} (decided ${toIdx})`);
        idx = e.trimmedIdx;
        break;
      case "entry":
        check(e.idx === idx && e.decided, "read-decided", () => `node ${pid}: readDecidedSuffix(${fromIdx}) gave entry idx ${e.idx} decided=${e.decided} at position ${idx}`);
        observe(sim, pid, idx, { kind: "entry", value: e.entry }, undefined);
        idx++;
        break;
      case "stopsign": {
        check(e.idx === idx && e.decided, "read-decided", () => `node ${pid}: readDecidedSuffix(${fromIdx}) gave stopsign idx ${e.idx} decided=${e.decided} at position ${idx}`);
        const next = e.stopSign.nextConfig;
        observe(sim, pid, idx, { kind: "stopsign", configurationId: next.configurationId, nodesKey: next.nodes.join(",") }, next);
        idx++;
        break;
      }
    }
  }
  check(idx === toIdx, "read-decided", () => `node ${pid}: readDecidedSuffix(${fromIdx}) ended at ${idx}, decidedIdx is ${toIdx}`);
  node.checkedIdx = toIdx;
}

function observe(sim: Simulation, pid: number, idx: number, slot: Slot, next: ClusterConfig | undefined): void {
  if (!sim.log.observe(pid, idx, slot)) return;
  if (slot.kind === "entry") checkEntryConfiguration(sim, idx, slot.value);
  else checkStopSign(sim, pid, idx, slot.configurationId);
  if (sim.traceMessages) sim.say(`  (reported by node ${pid})`);
  sim.onFirstDecided(idx, slot, next);
}

/** A value appended in configuration c is decided after c's start and before c's StopSign. */
function checkEntryConfiguration(sim: Simulation, idx: number, value: Entry): void {
  const c = sim.appendedIn.get(value);
  if (c === undefined) return; // validity already checked by the decided-log checker
  const startAfter = c === 1 ? -1 : sim.stopSignIdx.get(c - 1);
  check(startAfter !== undefined && idx > startAfter, "stopsign-ends-configuration", () => `value ${value} appended in configuration ${c} was decided at slot ${idx}, before configuration ${c} began (its StopSign is at ${startAfter})`);
  const end = sim.stopSignIdx.get(c);
  check(end === undefined || idx < end, "stopsign-ends-configuration", () => `value ${value} appended in configuration ${c} was decided at slot ${idx}, after configuration ${c}'s StopSign at ${end}`);
}

/** A StopSign for configuration c+1 ends configuration c, once, after c began; nothing of c follows it. */
function checkStopSign(sim: Simulation, pid: number, idx: number, nextId: number): void {
  const c = nextId - 1;
  check(c >= 1 && sim.stopSignIdx.get(c) === undefined, "stopsign-chain", () => `node ${pid} decided a StopSign to configuration ${nextId} at slot ${idx}, but configuration ${c} already ended at ${sim.stopSignIdx.get(c)}`);
  const startAfter = c === 1 ? -1 : sim.stopSignIdx.get(c - 1);
  check(startAfter !== undefined && startAfter < idx, "stopsign-chain", () => `node ${pid} decided a StopSign to configuration ${nextId} at slot ${idx}, but configuration ${c} has not begun there (previous StopSign ${startAfter})`);
  for (let i = idx + 1; i < sim.log.length; i++) {
    const s = sim.log.slotAt(i);
    if (s?.kind !== "entry") continue;
    check(sim.appendedIn.get(s.value) !== c, "stopsign-ends-configuration", () => `value ${s.value} appended in configuration ${c} was decided at slot ${i}, after configuration ${c}'s StopSign at ${idx}`);
  }
}

/** A node still in configuration c never decides past c's StopSign. */
function checkConfigurationEnd(sim: Simulation, node: SimNode, op: Node, decidedIdx: number): void {
  const c = op.getConfiguration().configurationId;
  const end = sim.stopSignIdx.get(c);
  check(end === undefined || decidedIdx <= end + 1, "stopsign-ends-configuration", () => `node ${node.pid} is still in configuration ${c} but decided up to slot ${decidedIdx - 1}, past the StopSign at ${end}`);
}

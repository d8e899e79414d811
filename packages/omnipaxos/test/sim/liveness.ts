// The liveness phase: faults stop, crashed nodes restart, and the network heals — or settles into one of the
// paper's partial-connectivity topologies — and within livenessTicksMax ticks a leader must be elected and a
// fresh append decided. A miss is reported as a failure, never by silently waiting longer.

import { SafetyViolation } from "./checkers/violation.ts";
import { checkInvariants } from "./invariants.ts";
import { restartDue } from "./nemesis.ts";
import { ELECTION_TIMEOUTS_MAX, livenessTicksMax } from "./sim-params.ts";
import type { Simulation } from "./simulator.ts";
import { type PartialConnectivityCase, chained, constrainedElection, quorumConnected, quorumLoss } from "./topology.ts";

/** The liveness bound of this run (sim-params.ts), or 10x that when only measuring (--measure-liveness). */
function boundOf(sim: Simulation): number {
  return livenessTicksMax(sim.params) * (sim.measureLivenessOnly ? 10 : 1);
}

export class LivenessViolation extends Error {
  override readonly name = "LivenessViolation";
}

export interface LivenessMeasurement {
  label: string;
  leaderTicks: number;
  decideTicks: number;
  leader: number;
}

/** Configuration changes (a StopSign pending at the heal) that may restart the clock once each. */
const CONFIGURATION_RESTARTS_MAX = 2;
/** Ticks given to a leader to replicate the constrained-election setup's entries before the topology. */
const LAG_SETUP_TICKS = 60;

export function runLiveness(sim: Simulation, scenario: PartialConnectivityCase | undefined): LivenessMeasurement[] {
  settle(sim);
  const out = [measure(sim, "healed")];
  sustain(sim, "healed");
  if (scenario === undefined) {
    drain(sim);
    return out;
  }
  const members = sim.latestConfiguration().nodes;
  const leader = out[0].leader;
  const others = members.filter((p) => p !== leader);
  const hub = sim.faultPrng.pick(others);
  if (scenario === "constrained-election") makeLag(sim, hub, leader);
  const links = scenario === "quorum-loss" ? quorumLoss(members, hub) : scenario === "chained" ? chained(members, leader, hub) : constrainedElection(members, hub, leader);
  sim.network.keepOnly(members, links);
  const outsiders = [...sim.nodes.keys()].filter((p) => !members.includes(p));
  sim.network.partition(outsiders, [...sim.nodes.keys()]);
  sim.say(`liveness: ${scenario} topology (leader ${leader}, hub ${hub}), links ${links.map(([a, b]) => `${a}-${b}`).join(" ")}`);
  out.push(measure(sim, scenario));
  sustain(sim, scenario);
  sim.network.healAll();
  drain(sim);
  return out;
}

/** Stops every fault: full connectivity, a calm network, every crashed node back up. */
function settle(sim: Simulation): void {
  sim.network.healAll();
  sim.network.profile = { lossRate: 0, duplicateRate: 0, delayTicksMin: 1, delayTicksMax: 1 };
  for (const node of sim.nodes.values()) if (node.instance === undefined && !node.stopped) node.restartAtTick = sim.tick + 1;
  sim.say("liveness: faults stop, network healed, crashed nodes restart");
}

function calmStep(sim: Simulation): void {
  sim.step(() => restartDue(sim), 0);
  checkInvariants(sim);
}

/** Isolates `hub` while `leader` decides a few more entries, so that the hub's log is outdated. */
function makeLag(sim: Simulation, hub: number, leader: number): void {
  sim.network.partition([hub], [...sim.nodes.keys()].filter((p) => p !== hub));
  const node = sim.nodes.get(leader)!;
  const before = sim.stats.appendedCount;
  for (let i = 0; i < 3; i++) sim.append(node);
  const target = node.instance!.getAcceptedIdx();
  for (let t = 0; t < LAG_SETUP_TICKS && node.instance!.getDecidedIdx() < target; t++) calmStep(sim);
  sim.say(`liveness: node ${hub} isolated while ${sim.stats.appendedCount - before} entries were appended at ${leader}`);
}

/** Runs calm steps until a leader of the latest configuration decides a fresh append, within the bound. */
function measure(sim: Simulation, label: string): LivenessMeasurement {
  let restarts = 0;
  let start = sim.tick;
  let configurationId = sim.latestConfigurationId;
  let leaderAt: number | undefined;
  let leaderPid = 0;
  const probes = new Set<number>();
  const probed = new Set<string>();
  const bound = boundOf(sim);
  for (;;) {
    calmStep(sim);
    if (sim.latestConfigurationId !== configurationId) {
      if (++restarts > CONFIGURATION_RESTARTS_MAX) throw new LivenessViolation(`${label}: configuration kept changing during the liveness phase`);
      sim.say(`liveness: configuration ${sim.latestConfigurationId} took over, the clock restarts`);
      configurationId = sim.latestConfigurationId;
      start = sim.tick;
      leaderAt = undefined;
    }
    for (const v of probes) {
      if (sim.log.isDecided(v)) {
        const m = { label, leaderTicks: (leaderAt ?? sim.tick) - start, decideTicks: sim.tick - start, leader: leaderPid };
        sim.say(`liveness (${label}): leader ${leaderPid} after ${m.leaderTicks} ticks, append decided after ${m.decideTicks} ticks (bound ${bound})`);
        return m;
      }
    }
    const leader = findLeader(sim);
    if (leader !== undefined) {
      if (leaderAt === undefined) leaderAt = sim.tick;
      leaderPid = leader.pid;
      const key = `${leader.pid}/${leader.ballot}`;
      if (!probed.has(key)) {
        const probe = sim.append(sim.nodes.get(leader.pid)!);
        if (probe !== undefined) {
          probes.add(probe);
          probed.add(key);
        } else sim.say(`liveness (${label}): leader ${leader.pid} refused the probe (${sim.lastRefusal}), retrying`);
      }
    }
    if (sim.tick - start > bound) {
      const why = leaderAt === undefined
        ? `no leader of configuration ${configurationId} within ${bound} ticks (${ELECTION_TIMEOUTS_MAX} election timeouts of ${sim.params.electionTicks} + decide allowance)`
        : `leader ${leaderPid} elected after ${leaderAt - start} ticks, but no append decided within ${bound} ticks`;
      throw new LivenessViolation(`${label}: ${why}`);
    }
  }
}

/** Ticks, in livenessTicksMax units, for every pending proposal to be decided or reported dropped. */
const DRAIN_BOUNDS = 4;

/**
 * No silent loss: on a healed network, every append accepted by a node that is still up must end up
 * decided or reported by takeDroppedProposals() (proposals held only in memory by a node that crashed or
 * shut down are excused).
 */
function drain(sim: Simulation): void {
  const deadline = sim.tick + DRAIN_BOUNDS * boundOf(sim);
  while (sim.fates.pendingValues().length > 0) {
    if (sim.tick >= deadline) {
      const left = sim.fates.pendingValues();
      const holders = [...new Set(left.map(([, p]) => p))].map((p) => `node ${p} pendingProposalCount ${sim.nodes.get(p)?.instance?.getStatus().pendingProposalCount ?? "down"}`);
      throw new SafetyViolation("proposal-fate", `${left.length} accepted appends neither decided nor reported dropped ${DRAIN_BOUNDS * boundOf(sim)} ticks after healing, e.g. ${left.slice(0, 5).map(([v, p]) => `value ${v} at node ${p}`).join(", ")}; ${holders.join(", ")}`);
    }
    calmStep(sim);
  }
  sim.say("liveness: every accepted append is decided or reported dropped");
}

/**
 * Progress must last, not just happen once (a livelock may decide one entry between two elections):
 * for SUSTAIN_ELECTION_TIMEOUTS election timeouts, a probe is appended at the current leader every
 * election timeout, and every probe must be decided within livenessTicksMax ticks of its append.
 */
const SUSTAIN_ELECTION_TIMEOUTS = 12;

function sustain(sim: Simulation, label: string): void {
  const bound = boundOf(sim);
  const end = sim.tick + SUSTAIN_ELECTION_TIMEOUTS * sim.params.electionTicks;
  const waiting = new Map<number, { at: number; pid: number }>(); // probe -> tick and leader it was appended at
  let lastLeaderTick = sim.tick;
  while (sim.tick < end || waiting.size > 0) {
    calmStep(sim);
    for (const [v, w] of waiting) {
      if (sim.log.isDecided(v)) waiting.delete(v);
      else if (sim.tick - w.at > bound) {
        const now = findLeader(sim);
        if (now === undefined || now.pid === w.pid) throw new LivenessViolation(`${label}: progress stalled, a probe appended at t${w.at} at leader ${w.pid} was not decided within ${bound} ticks`);
        // Appended at a leader deposed since, which may never learn it (it cannot reach its successor):
        // counted, not failed; progress is judged on the probes of the current leader.
        sim.stats.orphanedProbeCount++;
        sim.say(`liveness (${label}): probe ${v} orphaned at deposed leader ${w.pid} (leader now ${now.pid})`);
        waiting.delete(v);
      }
    }
    const leader = findLeader(sim);
    if (leader !== undefined) lastLeaderTick = sim.tick;
    else if (sim.tick - lastLeaderTick > bound) throw new LivenessViolation(`${label}: no leader for ${bound} ticks after progress had started`);
    if (leader !== undefined && sim.tick < end && sim.tick % sim.params.electionTicks === 0) {
      const probe = sim.append(sim.nodes.get(leader.pid)!);
      if (probe !== undefined) waiting.set(probe, { at: sim.tick, pid: leader.pid });
    }
  }
  sim.say(`liveness (${label}): progress sustained for ${SUSTAIN_ELECTION_TIMEOUTS} election timeouts`);
}

/**
 * The leader of the latest configuration: the owner of the highest ballot promised by any of its
 * quorum-connected members, if it leads in the accept phase. (A deposed leader cut off from its
 * successor may still believe it leads; probes appended there are never decided, see README.)
 */
function findLeader(sim: Simulation): { pid: number; ballot: string } | undefined {
  const cfg = sim.latestConfiguration();
  const qc = quorumConnected(cfg.nodes, (a, b) => sim.network.isConnected(a, b));
  let top: number[] | undefined;
  for (const pid of cfg.nodes) {
    const op = sim.nodes.get(pid)?.instance;
    if (op === undefined || !qc.includes(pid) || op.getConfiguration().configurationId !== cfg.configurationId) continue;
    const p = op.getStatus().promise;
    const rank = [p.configurationId, p.n, p.priority, p.pid];
    if (top === undefined || lexGreater(rank, top)) top = rank;
  }
  if (top === undefined || !qc.includes(top[3])) return undefined;
  const st = sim.nodes.get(top[3])?.instance?.getStatus();
  if (st === undefined || st.role !== "leader" || st.phase !== "accept" || !lexEqual([st.promise.configurationId, st.promise.n, st.promise.priority, st.promise.pid], top)) return undefined;
  return { pid: top[3], ballot: `${top[0]}/${top[1]}/${top[2]}` };
}

function lexEqual(a: number[], b: number[]): boolean {
  return a.every((x, i) => x === b[i]);
}

function lexGreater(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return false;
}

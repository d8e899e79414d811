// The fault schedule of the safety phase: every step it may change the network (loss, duplication, delay,
// partitions incl. the paper's one-link cuts), crash or restart nodes, reconfigure, compact, and append.

import type { ClusterConfig } from "../../src/index.ts";
import { verifyWholeLog, checkRestart } from "./invariants.ts";
import type { NetworkProfile } from "./network.ts";
import { RECONFIGURE_RETRY_TICKS, REMOVED_MEMBER_LINGER_TICKS } from "./sim-params.ts";
import type { SimNode } from "./sim-node.ts";
import type { Simulation } from "./simulator.ts";
import { chained, constrainedElection, quorumLoss } from "./topology.ts";

const PROFILES: readonly NetworkProfile[] = [
  { lossRate: 0, duplicateRate: 0, delayTicksMin: 1, delayTicksMax: 1 },
  { lossRate: 0, duplicateRate: 0, delayTicksMin: 1, delayTicksMax: 3 },
  { lossRate: 0.05, duplicateRate: 0.02, delayTicksMin: 1, delayTicksMax: 2 },
  { lossRate: 0.2, duplicateRate: 0, delayTicksMin: 1, delayTicksMax: 2 },
  { lossRate: 0, duplicateRate: 0.2, delayTicksMin: 1, delayTicksMax: 6 },
  { lossRate: 0.1, duplicateRate: 0.1, delayTicksMin: 1, delayTicksMax: 8 },
];

/** The inputs of one safety-phase step. */
export function nemesisStep(sim: Simulation): void {
  const r = sim.faultPrng;
  const rates = sim.params.rates;
  if (r.chance(rates.networkProfile)) {
    sim.network.profile = r.pick(PROFILES);
    sim.say(`network: loss ${sim.network.profile.lossRate}, duplicate ${sim.network.profile.duplicateRate}, delay ${sim.network.profile.delayTicksMin}..${sim.network.profile.delayTicksMax}`);
  }
  if (r.chance(rates.heal)) {
    sim.network.healAll();
    sim.say("network: all links healed");
  }
  if (r.chance(rates.partition)) partition(sim);
  restartDue(sim);
  const up = sim.upNodes();
  if (up.length > 0 && r.chance(rates.crash)) sim.crash(r.pick(up), "");
  if (r.chance(rates.reconfigure)) reconfigure(sim);
  if (r.chance(rates.snapshot)) compact(sim, "snapshot");
  if (r.chance(rates.trim)) compact(sim, "trim");
  if (r.chance(rates.appendBurst)) appendBurst(sim);
  if (r.chance(rates.read)) {
    // Mostly at nodes that believe they lead (a deposed one must not confirm), sometimes anywhere.
    const live = sim.upNodes();
    const leading = live.filter((n) => n.instance!.getCurrentLeader() === n.pid);
    const pool = leading.length > 0 && r.chance(0.7) ? leading : live;
    if (pool.length > 0) sim.readIndex(r.pick(pool));
  }
  stopRemovedMembers(sim);
}

export function restartDue(sim: Simulation): void {
  for (const node of sim.nodes.values()) {
    if (node.instance !== undefined || node.stopped || node.restartAtTick === undefined || node.restartAtTick > sim.tick) continue;
    sim.restart(node);
    checkRestart(node);
  }
}

function appendBurst(sim: Simulation): void {
  const up = sim.upNodes().filter((n) => !n.instance!.isRemoved());
  if (up.length === 0) return;
  const node = sim.faultPrng.pick(up);
  const count = sim.faultPrng.range(1, 5);
  let accepted = 0;
  for (let i = 0; i < count; i++) if (sim.append(node) !== undefined) accepted++;
  sim.say(`client appends ${count} at node ${node.pid} (${accepted} accepted)`);
}

function partition(sim: Simulation): void {
  const r = sim.faultPrng;
  const net = sim.network;
  const members = sim.latestConfiguration().nodes;
  const all = [...sim.nodes.keys()];
  const leader = currentLeader(sim) ?? r.pick(members);
  const others = members.filter((p) => p !== leader);
  sim.stats.partitionCount++;
  switch (r.int(7)) {
    case 0: {
      const p = r.pick(all);
      net.healAll();
      net.partition([p], all.filter((q) => q !== p));
      sim.say(`network: node ${p} isolated`);
      return;
    }
    case 1: {
      const shuffled = r.shuffle([...all]);
      const cut = r.range(1, Math.max(1, Math.floor(shuffled.length / 2)));
      net.healAll();
      net.partition(shuffled.slice(0, cut), shuffled.slice(cut));
      sim.say(`network: partition [${shuffled.slice(0, cut).join(",")}] | [${shuffled.slice(cut).join(",")}]`);
      return;
    }
    case 2: {
      const [a, b] = r.shuffle([...all]);
      if (b === undefined) return;
      net.cutLink(a, b);
      sim.say(`network: link ${a}-${b} cut`);
      return;
    }
    case 3: {
      const hub = r.pick(others.length > 0 ? others : members);
      net.keepOnly(members, quorumLoss(members, hub));
      sim.say(`network: quorum-loss, only ${hub} is quorum-connected (leader was ${leader})`);
      return;
    }
    case 4: {
      const hub = r.pick(others.length > 0 ? others : members);
      net.keepOnly(members, constrainedElection(members, hub, leader));
      sim.say(`network: constrained election, leader ${leader} isolated, only ${hub} is quorum-connected`);
      return;
    }
    case 5: {
      const b = r.pick(others.length > 0 ? others : members);
      net.keepOnly(members, chained(members, leader, b));
      sim.say(`network: chained, link ${leader}-${b} cut`);
      return;
    }
    default:
      for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) if (r.chance(0.3)) net.cutLink(all[i], all[j]);
      sim.say(`network: random cuts, now cut: ${net.cutLinks().map(([a, b]) => `${a}-${b}`).join(" ")}`);
  }
}

export function currentLeader(sim: Simulation): number | undefined {
  for (const node of sim.upNodes()) {
    const op = node.instance!;
    if (op.getCurrentLeader() === node.pid && op.getConfiguration().configurationId === sim.latestConfigurationId) return node.pid;
  }
  return undefined;
}

/** Proposes a configuration that adds, removes or replaces a member (3..7 members), at a random member. */
function reconfigure(sim: Simulation): void {
  const r = sim.faultPrng;
  const cur = sim.latestConfiguration();
  const pending = sim.pendingReconfiguration;
  if (pending !== undefined && pending.configurationId > cur.configurationId && sim.tick - pending.atTick < RECONFIGURE_RETRY_TICKS) return;
  const nodes = [...cur.nodes];
  const choices = [...(nodes.length < 7 ? ["add"] : []), ...(nodes.length > 3 ? ["remove"] : []), "replace"];
  const kind = r.pick(choices);
  if (kind !== "add") nodes.splice(r.int(nodes.length), 1);
  if (kind !== "remove") nodes.push(sim.newPid());
  const next: ClusterConfig = { configurationId: cur.configurationId + 1, nodes };
  const proposers = sim.upNodes().filter((n) => n.instance!.getConfiguration().configurationId === cur.configurationId && cur.nodes.includes(n.pid));
  if (proposers.length === 0) return;
  const at = r.pick(proposers);
  try {
    at.instance!.reconfigure(next);
  } catch (e) {
    if (e instanceof sim.core.ProposalError) {
      sim.say(`reconfigure at ${at.pid} refused: ${e.code}`);
      return;
    }
    throw e;
  }
  sim.pendingReconfiguration = { configurationId: next.configurationId, atTick: sim.tick };
  sim.say(`reconfigure (${kind}) proposed at node ${at.pid}: configuration ${next.configurationId} = [${nodes.join(",")}]`);
}

function compact(sim: Simulation, op: "snapshot" | "trim"): void {
  const r = sim.faultPrng;
  const up = sim.upNodes();
  if (up.length === 0) return;
  // trim is a leader operation: aim it at the leader most of the time.
  const leaderPid = op === "trim" && r.chance(0.8) ? currentLeader(sim) : undefined;
  const node = leaderPid !== undefined ? sim.nodes.get(leaderPid)! : r.pick(up);
  const inst = node.instance!;
  const decided = inst.getDecidedIdx();
  const idx = r.chance(0.5) ? undefined : r.range(0, decided);
  try {
    if (op === "snapshot") {
      const localOnly = r.chance(0.5);
      inst.snapshot(idx, localOnly);
      sim.stats.snapshotCount++;
      sim.say(`node ${node.pid} snapshot(${idx ?? "decided"}, localOnly=${localOnly}) -> compactedIdx ${inst.getCompactedIdx()}`);
    } else {
      inst.trim(idx);
      sim.stats.trimCount++;
      sim.say(`node ${node.pid} trim(${idx ?? "all-decided"}) -> compactedIdx ${inst.getCompactedIdx()}`);
    }
  } catch (e) {
    if (e instanceof sim.core.CompactionError) return;
    throw e;
  }
  verifyWholeLog(sim, node);
}

function stopRemovedMembers(sim: Simulation): void {
  for (const node of sim.nodes.values()) {
    if (node.instance === undefined || node.stopped) continue;
    if (!node.instance.isRemoved()) continue;
    if (node.removedAtTick === undefined) node.removedAtTick = sim.tick;
    else if (sim.tick - node.removedAtTick > REMOVED_MEMBER_LINGER_TICKS) stop(sim, node);
  }
}

function stop(sim: Simulation, node: SimNode): void {
  node.instance = undefined;
  node.stopped = true;
  sim.fates.nodeLost(node.pid);
  sim.reads.nodeLost(node.pid);
  sim.network.dropFor(node.pid);
  sim.say(`node ${node.pid} (removed) shuts down`);
}

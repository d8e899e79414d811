// `npm run sim -- ...`: runs seeds of the deterministic simulator against packages/omnipaxos/src and prints
// one line per failure (with the command that replays it) and a summary JSON line. Exit 1 if any seed failed.

import { UsageError, parseCli, replayCommand } from "./cli-options.ts";
import { loadCore } from "./core-module.ts";
import { runSeed } from "./run-seed.ts";

async function main(): Promise<number> {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error((e as Error).message);
      return 2;
    }
    throw e;
  }
  const core = await loadCore(cli.coreDir);
  const started = performance.now();
  let failed = 0;
  let ticks = 0;
  let decidedSlots = 0;
  let crashes = 0;
  let reconfigurations = 0;
  let snapshots = 0;
  let worstLivenessTicks = 0;
  let orphanedProbes = 0;
  let worstLeaderTimeouts = 0; // leader election ticks / electionTickTimeout, worst over all liveness measurements
  let worstDecideOverBound = 0; // decide ticks / the run's bound (must stay <= 1)
  let trims = 0;
  let readsConfirmed = 0;
  let droppedReported = 0;
  const failures: number[] = [];
  for (const seed of cli.seeds) {
    const r = runSeed(core, { seed, steps: cli.steps, nodes: cli.nodes, scenario: cli.scenario, trace: cli.verbose ? (l) => console.log(l) : undefined, traceMessages: cli.messages, measureLiveness: cli.measureLiveness });
    ticks += r.ticks;
    decidedSlots += r.stats.decidedSlotCount;
    crashes += r.stats.crashCount;
    reconfigurations += r.stats.reconfigurationCount;
    snapshots += r.stats.snapshotCount;
    orphanedProbes += r.stats.orphanedProbeCount;
    trims += r.stats.trimCount;
    readsConfirmed += r.stats.readsConfirmedCount;
    droppedReported += r.stats.droppedReportedCount;
    for (const m of r.liveness) {
      worstLivenessTicks = Math.max(worstLivenessTicks, m.decideTicks);
      worstLeaderTimeouts = Math.max(worstLeaderTimeouts, m.leaderTicks / r.electionTicks);
      worstDecideOverBound = Math.max(worstDecideOverBound, m.decideTicks / r.livenessBoundTicks);
    }
    if (!r.ok) {
      failed++;
      if (failures.length < 20) failures.push(seed);
      const f = r.failure!;
      console.log(`FAIL seed ${seed} (${r.nodeCount} nodes, ${f.phase} phase, tick ${f.tick}) ${f.invariant}: ${f.message.split("\n").slice(0, 6).join("\n    ")}`);
      console.log(`  reproduce: ${replayCommand(seed, cli.steps, cli.nodes, cli.scenario, cli.coreDir)}`);
    }
  }
  const elapsedMs = Math.round(performance.now() - started);
  console.log(JSON.stringify({
    seeds: cli.seeds.length, firstSeed: cli.seeds[0], steps: cli.steps, passed: cli.seeds.length - failed, failed,
    failedSeeds: failures, ticks, decidedSlots, crashes, reconfigurations, snapshots, trims, readsConfirmed, droppedReported,
    worstLivenessTicks, worstLeaderTimeouts: Number(worstLeaderTimeouts.toFixed(2)), worstDecideOverBound: Number(worstDecideOverBound.toFixed(2)),
    orphanedProbes, elapsedMs,
  }));
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();

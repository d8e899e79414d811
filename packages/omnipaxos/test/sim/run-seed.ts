// One simulator run: the safety phase (steps under faults, invariants after every step), then the liveness
// phase. Returns a result instead of throwing, so that a batch of seeds can report every failure.

import { SafetyViolation } from "./checkers/violation.ts";
import type { CoreModule } from "./core-module.ts";
import { checkInvariants, verifyWholeLog } from "./invariants.ts";
import { type LivenessMeasurement, LivenessViolation, runLiveness } from "./liveness.ts";
import { nemesisStep } from "./nemesis.ts";
import { livenessTicksMax } from "./sim-params.ts";
import { Simulation, type SimStats } from "./simulator.ts";
import { PARTIAL_CONNECTIVITY_CASES, type PartialConnectivityCase } from "./topology.ts";

export interface RunOptions {
  seed: number;
  steps: number;
  nodes?: number;
  /** Force the liveness phase's topology; by default a quarter of the seeds draw one. */
  scenario?: PartialConnectivityCase;
  trace?: (line: string) => void;
  /** With trace: also every delivered message. */
  traceMessages?: boolean;
  /** Only measure the liveness ticks (10x bound), to find what the core needs. */
  measureLiveness?: boolean;
}

export interface RunResult {
  seed: number;
  ok: boolean;
  nodeCount: number;
  electionTicks: number;
  /** livenessTicksMax of this run. */
  livenessBoundTicks: number;
  scenario: PartialConnectivityCase | undefined;
  /** Ticks simulated (safety steps + liveness ticks). */
  ticks: number;
  failure?: { invariant: string; message: string; tick: number; phase: "safety" | "liveness" };
  liveness: LivenessMeasurement[];
  stats: SimStats;
}

/** Ticks between two whole-log re-reads of a random node (decided prefixes must never change). */
const WHOLE_LOG_CHECK_TICKS = 97;

export function runSeed(core: CoreModule, options: RunOptions): RunResult {
  const sim = new Simulation(core, options.seed, options.nodes, options.trace);
  sim.traceMessages = options.traceMessages ?? false;
  sim.measureLivenessOnly = options.measureLiveness ?? false;
  const scenarioPrng = sim.prng.fork();
  const scenario = options.scenario ?? (scenarioPrng.chance(0.25) ? scenarioPrng.pick(PARTIAL_CONNECTIVITY_CASES) : undefined);
  let phase: "safety" | "liveness" = "safety";
  let liveness: LivenessMeasurement[] = [];
  const result = (failure?: RunResult["failure"]): RunResult => {
    sim.stats.readsConfirmedCount = sim.reads.readyCount;
    sim.stats.droppedReportedCount = sim.fates.droppedCount;
    return {
      seed: options.seed, ok: failure === undefined, nodeCount: sim.params.nodeCount, scenario,
      electionTicks: sim.params.electionTicks, livenessBoundTicks: livenessTicksMax(sim.params), ticks: sim.tick, failure, liveness, stats: sim.stats,
    };
  };
  sim.say(`seed ${options.seed}: nodes [${sim.params.pids.join(",")}], electionTicks ${sim.params.electionTicks}, resendTicks ${sim.params.resendTicks}, batchSize ${sim.params.batchSize}, entryId ${sim.params.useEntryId}, liveness ${scenario ?? "healed"}`);
  try {
    checkInvariants(sim);
    for (let i = 0; i < options.steps; i++) {
      sim.step(() => nemesisStep(sim), sim.params.rates.crashMidTurn);
      checkInvariants(sim);
      if (sim.tick % WHOLE_LOG_CHECK_TICKS === 0) {
        const up = sim.upNodes();
        if (up.length > 0) verifyWholeLog(sim, sim.faultPrng.pick(up));
      }
    }
    phase = "liveness";
    liveness = runLiveness(sim, scenario);
    for (const node of sim.upNodes()) verifyWholeLog(sim, node);
    return result();
  } catch (e) {
    const invariant = e instanceof SafetyViolation ? e.invariant : e instanceof LivenessViolation ? "liveness" : "core-exception";
    const message = e instanceof SafetyViolation || e instanceof LivenessViolation ? e.message : String((e as Error)?.stack ?? e);
    sim.say(`FAILED (${invariant}): ${message}`);
    return result({ invariant, message, tick: sim.tick, phase });
  }
}

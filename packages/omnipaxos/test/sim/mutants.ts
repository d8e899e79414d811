// `npm run sim:mutants`: injects real bugs into a copy of the core, one at a time, and runs the CI seed budget
// against each until a seed fails. A seed counts only if the real core passes it (else the catch proves
// nothing). Prints one JSON line per mutant; exit 1 if any mutant survives the budget.

import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { CI_SEED_COUNT, CI_SEED_FIRST, CI_STEPS } from "./ci-budget.ts";
import { loadCore } from "./core-module.ts";
import { MUTANTS } from "./mutant-list.ts";
import { loadMutant } from "./mutant-core.ts";
import { runSeed } from "./run-seed.ts";

export interface MutantOutcome {
  mutant: string;
  bug: string;
  caught: boolean;
  seed?: number;
  seedsRun: number;
  steps: number;
  invariant?: string;
  phase?: string;
  tick?: number;
  /** Seeds the mutant failed but the real core failed too (not counted as catches). */
  controlFailedSeeds: number;
  /** Seeds the mutant failed on an invariant other than its expected ones (not counted either). */
  otherFailureSeeds: number;
  elapsedMs: number;
}

export async function runMutants(opts: { seedCount: number; steps: number; only?: string[]; coreDir?: string; onOutcome?: (o: MutantOutcome) => void }): Promise<MutantOutcome[]> {
  const real = await loadCore(opts.coreDir);
  const out: MutantOutcome[] = [];
  for (const m of MUTANTS) {
    if (opts.only !== undefined && !opts.only.includes(m.name)) continue;
    const started = performance.now();
    const loaded = await loadMutant(m, opts.coreDir);
    let outcome: MutantOutcome = { mutant: m.name, bug: m.bug, caught: false, seedsRun: 0, steps: opts.steps, controlFailedSeeds: 0, otherFailureSeeds: 0, elapsedMs: 0 };
    try {
      const seeds = [...(m.knownSeeds ?? [])];
      for (let seed = CI_SEED_FIRST; seed < CI_SEED_FIRST + opts.seedCount; seed++) seeds.push(seed);
      for (const seed of seeds) {
        const r = runSeed(loaded.core, { seed, steps: opts.steps });
        outcome.seedsRun++;
        if (r.ok) continue;
        if (!m.expect.includes(r.failure!.invariant)) {
          outcome.otherFailureSeeds++; // failed, but not on the invariant this bug breaks
          continue;
        }
        // The catch counts only if the real core passes the same seed (else it proves nothing).
        if (!runSeed(real, { seed, steps: opts.steps }).ok) {
          outcome.controlFailedSeeds++;
          continue;
        }
        outcome = { ...outcome, caught: true, seed, invariant: r.failure!.invariant, phase: r.failure!.phase, tick: r.failure!.tick };
        break;
      }
    } finally {
      loaded.dispose();
    }
    outcome.elapsedMs = Math.round(performance.now() - started);
    out.push(outcome);
    opts.onOutcome?.(outcome);
  }
  return out;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { seeds: { type: "string" }, steps: { type: "string" }, only: { type: "string" }, core: { type: "string" } } });
  const seedCount = values.seeds === undefined ? CI_SEED_COUNT : Number(values.seeds);
  const steps = values.steps === undefined ? CI_STEPS : Number(values.steps);
  if (!Number.isInteger(seedCount) || seedCount < 1 || !Number.isInteger(steps) || steps < 1) {
    console.error("usage: npm run sim:mutants -- [--seeds N] [--steps N] [--only name,name] [--core SRC_DIR]");
    return 2;
  }
  const outcomes = await runMutants({ seedCount, steps, only: values.only?.split(","), coreDir: values.core, onOutcome: (o) => console.log(JSON.stringify(o)) });
  const bad = outcomes.filter((o) => !o.caught);
  return bad.length === 0 && outcomes.length > 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();

// CI runs of the deterministic simulator: the seed budget under every fault, the paper's three
// partial-connectivity cases as targeted liveness runs, and the committed regression seeds.

import assert from "node:assert/strict";
import { test } from "node:test";
import { replayCommand } from "./cli-options.ts";
import { CI_SEED_COUNT, CI_SEED_FIRST, CI_STEPS } from "./ci-budget.ts";
import { loadCore } from "./core-module.ts";
import { REGRESSION_SEEDS } from "./regression-seeds.ts";
import { type RunOptions, runSeed } from "./run-seed.ts";
import { PARTIAL_CONNECTIVITY_CASES } from "./topology.ts";

const core = await loadCore();
/** Seeds per mutant in the test; `npm run sim:mutants` uses the whole CI budget. */
const MUTANT_TEST_SEEDS = 100;

function failuresOf(runs: RunOptions[]): string[] {
  const out: string[] = [];
  for (const o of runs) {
    const r = runSeed(core, o);
    if (!r.ok) out.push(`seed ${o.seed}: ${r.failure!.invariant} at tick ${r.failure!.tick}: ${r.failure!.message.split("\n")[0]}\n  reproduce: ${replayCommand(o.seed, o.steps, o.nodes, o.scenario)}`);
  }
  return out;
}

test(`${CI_SEED_COUNT} seeds of ${CI_STEPS} steps under faults keep every safety invariant and recover after healing`, () => {
  const runs = Array.from({ length: CI_SEED_COUNT }, (_, i) => ({ seed: CI_SEED_FIRST + i, steps: CI_STEPS }));
  assert.deepEqual(failuresOf(runs), []);
});

for (const scenario of PARTIAL_CONNECTIVITY_CASES) {
  test(`in the ${scenario} case a quorum-connected leader is elected and decides within the liveness bound`, () => {
    const runs: RunOptions[] = [];
    for (let nodes = 3; nodes <= 7; nodes++) for (let seed = 1; seed <= 4; seed++) runs.push({ seed: 1000 * nodes + seed, steps: 300, nodes, scenario });
    assert.deepEqual(failuresOf(runs), []);
  });
}

test("every committed regression seed passes", () => {
  assert.deepEqual(failuresOf(REGRESSION_SEEDS.map((r) => ({ seed: r.seed, steps: r.steps, nodes: r.nodes, scenario: r.scenario }))), []);
});

test("every injected bug (mutants.ts) is caught by the simulator within its first seeds", async () => {
  const { runMutants } = await import("./mutants.ts");
  const outcomes = await runMutants({ seedCount: MUTANT_TEST_SEEDS, steps: CI_STEPS });
  assert.ok(outcomes.length >= 4, "at least 4 mutants");
  assert.deepEqual(outcomes.filter((o) => !o.caught).map((o) => o.mutant), []);
});

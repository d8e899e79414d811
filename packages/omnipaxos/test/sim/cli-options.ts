// Parses the simulator's command line (`npm run sim -- ...`) into run options; one readable line on a mistake.

import { parseArgs } from "node:util";
import { PARTIAL_CONNECTIVITY_CASES, type PartialConnectivityCase } from "./topology.ts";

export interface CliOptions {
  seeds: number[];
  steps: number;
  nodes: number | undefined;
  verbose: boolean;
  messages: boolean;
  /** Report the worst liveness ticks in election timeouts instead of enforcing the bound. */
  measureLiveness: boolean;
  /** Another copy of packages/omnipaxos/src to drive (e.g. a committed version exported with git archive). */
  coreDir: string | undefined;
  scenario: PartialConnectivityCase | undefined;
}

export const DEFAULT_STEPS = 2_000;

export const USAGE = `usage: npm run sim -- [--seed N | --seeds COUNT [--from FIRST]] [--steps N] [--nodes 3..7]
                      [--scenario quorum-loss|constrained-election|chained] [--verbose] [--messages] [--core SRC_DIR] [--measure-liveness]`;

export function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: "string" },
      seeds: { type: "string" },
      from: { type: "string" },
      steps: { type: "string" },
      nodes: { type: "string" },
      scenario: { type: "string" },
      verbose: { type: "boolean", short: "v" },
      messages: { type: "boolean" },
      core: { type: "string" },
      "measure-liveness": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new UsageError(USAGE);
  if (values.seed !== undefined && values.seeds !== undefined) throw new UsageError("give either --seed or --seeds, not both");
  const steps = values.steps === undefined ? DEFAULT_STEPS : int("--steps", values.steps, 1, 10_000_000);
  const nodes = values.nodes === undefined ? undefined : int("--nodes", values.nodes, 3, 7);
  let scenario: PartialConnectivityCase | undefined;
  if (values.scenario !== undefined) {
    if (!(PARTIAL_CONNECTIVITY_CASES as readonly string[]).includes(values.scenario)) {
      throw new UsageError(`--scenario must be one of ${PARTIAL_CONNECTIVITY_CASES.join(", ")}`);
    }
    scenario = values.scenario as PartialConnectivityCase;
  }
  let seeds: number[];
  if (values.seed !== undefined) seeds = [int("--seed", values.seed, 0, 0xffffffff)];
  else {
    const count = values.seeds === undefined ? 100 : int("--seeds", values.seeds, 1, 100_000_000);
    const from = values.from === undefined ? 1 : int("--from", values.from, 0, 0xffffffff);
    seeds = Array.from({ length: count }, (_, i) => from + i);
  }
  return { seeds, steps, nodes, verbose: (values.verbose ?? false) || (values.messages ?? false), messages: values.messages ?? false, measureLiveness: values["measure-liveness"] ?? false, coreDir: values.core, scenario };
}

/** The one-line command that replays a single seed. */
export function replayCommand(seed: number, steps: number, nodes: number | undefined, scenario: PartialConnectivityCase | undefined, coreDir?: string): string {
  let cmd = `npm run sim -- --seed ${seed} --steps ${steps}`;
  if (nodes !== undefined) cmd += ` --nodes ${nodes}`;
  if (scenario !== undefined) cmd += ` --scenario ${scenario}`;
  if (coreDir !== undefined) cmd += ` --core ${coreDir}`;
  return `${cmd} --verbose`;
}

export class UsageError extends Error {}

function int(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be a whole number, got "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

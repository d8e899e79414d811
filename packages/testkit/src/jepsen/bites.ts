// "Show that it bites": runs the jepsen workload against nodes with one guarantee broken on purpose
// (OMNIMETA_UNSAFE) and checks that the history check fails. One JSON line per fault on stdout;
// exit 0 only if every fault was caught.
//   node --import tsx packages/testkit/src/jepsen/bites.ts [--time S] [--seed S] [--only FLAG]
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import type { NemesisKind } from "../nemesis/nemesis.ts";
import { defaultRunOptions, runJepsen, type Verdict } from "./run.ts";

interface Bite {
  unsafe: string;
  nemesis: NemesisKind[];
  /** Why this nemesis exposes this fault. */
  why: string;
  killAllRate: number;
  /** Caught only when the wider checks report this `check/kind` prefix (default: any anomaly). */
  expect?: string;
}

const BITES: Bite[] = [
  { unsafe: "stale-reads", nemesis: ["partition"], killAllRate: 0, why: "an isolated or lagging node answers linearizable reads from its own state" },
  { unsafe: "ack-before-fsync", nemesis: ["kill"], killAllRate: 1, why: "killing every node at once loses what was acknowledged but not yet committed" },
  { unsafe: "no-dedup", nemesis: ["kill", "partition"], killAllRate: 0.2, why: "retries and resends with the same request id are applied again" },
  { unsafe: "list-stale", nemesis: ["partition"], killAllRate: 0, expect: "list/", why: "an isolated or lagging node answers linearizable Lists from its own state" },
  { unsafe: "serializable-backwards", nemesis: [], killAllRate: 0, expect: "serializable/serializable-backwards", why: "every other serializable read at a node comes from a copy up to a second old" },
  { unsafe: "watch-gap", nemesis: [], killAllRate: 0, expect: "watch/watch-gap", why: "a node drops one live watch event in fifty" },
];

/** Whether the run shows the fault: any anomaly, or one of the expected wider kind. */
function caughtBy(bite: Bite, v: Verdict): boolean {
  if (bite.expect === undefined) return v.valid === false;
  return Object.keys(v.wider.byKind).some((k) => k.startsWith(bite.expect!));
}

const ATTEMPTS_MAX = 3;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { time: { type: "string" }, seed: { type: "string" }, only: { type: "string" }, out: { type: "string" } } });
  const timeS = Number(values.time ?? 30);
  const seed0 = Number(values.seed ?? 1);
  const outRoot = resolve(values.out ?? join("histories", `bites-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  let missed = 0;
  for (const bite of BITES.filter((b) => values.only === undefined || b.unsafe === values.only)) {
    let line: Record<string, unknown> = {};
    for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt++) {
      const seed = seed0 + attempt - 1;
      const v = await runJepsen({
        ...defaultRunOptions,
        timeS,
        seed,
        nemesis: bite.nemesis,
        unsafe: bite.unsafe,
        killAllRate: bite.killAllRate,
        outDir: join(outRoot, `${bite.unsafe}-s${seed}`),
        log: (l) => process.stderr.write(`[${bite.unsafe}] ${l}\n`),
      });
      const caught = caughtBy(bite, v);
      line = {
        unsafe: bite.unsafe, caught, attempts: attempt, seed, nemesis: bite.nemesis, why: bite.why,
        ops: v.ops, ok: v.ok, fail: v.fail, info: v.info, faults: v.faults, anomalies: v.anomalies.length,
        wider: { lists: v.wider.lists, serializableReads: v.wider.serializableReads, watchEvents: v.wider.watch.events, anomalies: v.wider.anomalies, byKind: v.wider.byKind },
        firstAnomaly: v.anomalies[0]?.explanation.slice(0, 3) ?? v.wider.examples.slice(0, 1), history: v.history,
      };
      if (caught) break;
    }
    if (line.caught !== true) missed++;
    process.stdout.write(JSON.stringify(line) + "\n");
  }
  return missed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bites: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);

// Shared by the short fault runs of `npm test`: one run of one nemesis kind on 3 real nodes, and
// the assertions every such run must meet (valid history, faults injected, recovery, final reads).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { NemesisKind } from "../src/nemesis/nemesis.ts";
import { defaultRunOptions, runJepsen, type Verdict } from "../src/jepsen/run.ts";

export async function shortRun(kind: NemesisKind, seed: number, overrides: { timeS?: number; unsafe?: string; nemesis?: NemesisKind[] } = {}): Promise<Verdict> {
  const outDir = mkdtempSync(join(tmpdir(), `omnimeta-jepsen-${kind}-`));
  const verdict = await runJepsen({
    ...defaultRunOptions,
    nodes: 3,
    timeS: overrides.timeS ?? 20,
    nemesis: overrides.nemesis ?? [kind],
    seed,
    unsafe: overrides.unsafe ?? "",
    nemesisIntervalMs: 2000,
    nemesisHoldMs: 2000,
    outDir,
    log: () => {},
  });
  return verdict;
}

/**
 * A failing assertion names the seed and the kept history, so that the run can be replayed; the
 * run's directory is removed only when every assertion holds. The op floor is low on purpose:
 * CI shares 2 cores, and a starved run must fail only on safety, not on speed.
 */
export function assertValidRun(v: Verdict, kind: NemesisKind): void {
  const why = `seed ${v.seed}, history ${v.history}: ${JSON.stringify({ ...v, keys: undefined, faultLog: undefined })}`;
  assert.equal(v.valid, true, `history not linearizable; ${why}`);
  assert.equal(v.finalReadsUnanswered, 0, `final reads unanswered; ${why}`);
  assert.equal(v.harnessError, undefined, `the harness failed; ${why}`);
  assert.ok((v.faults[kind] ?? 0) >= 2, `at least two ${kind} faults injected; ${why}`);
  assert.equal(v.unrecovered, 0, `the cluster recovered after every fault; ${why}`);
  assert.ok(v.ok >= 50, `enough acknowledged ops; ${why}`);
  assert.ok(v.wider.lists > 0 && v.wider.serializableReads > 0 && v.wider.watch.events > 0, `the List, serializable and watch checks had something to check; ${why}`);
  rmSync(dirname(v.history), { recursive: true, force: true });
}

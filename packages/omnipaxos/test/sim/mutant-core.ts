// Builds a mutated copy of the core: packages/omnipaxos/src copied to a temp dir, one textual patch applied
// (the pattern must match exactly once, or the mutant is rejected so it can never silently be a no-op),
// then loaded by dynamic import. The committed sources are never touched.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CoreModule, loadCore } from "./core-module.ts";

export interface Patch {
  /** File under packages/omnipaxos/src. */
  file: string;
  find: string;
  replace: string;
}

export interface Mutant {
  name: string;
  /** The bug, in one line. */
  bug: string;
  /** The invariants that should catch it; a seed failing on another one is not counted as its catch. */
  expect: string[];
  patches: Patch[];
  /** Seeds known to expose the bug, run before the first CI seeds: for a bug the core's other rules now
   *  make rare (the catch still counts only if the mutant fails there on an expected invariant and the
   *  real core passes). */
  knownSeeds?: number[];
}

export const CORE_SRC_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../src");

export interface LoadedMutant {
  core: CoreModule;
  dispose(): void;
}

/** `srcDir`: the core to mutate (default packages/omnipaxos/src). */
export async function loadMutant(m: Mutant, srcDir: string = CORE_SRC_DIR): Promise<LoadedMutant> {
  const dir = mkdtempSync(join(tmpdir(), `omnipaxos-mutant-${m.name}-`));
  try {
    cpSync(srcDir, dir, { recursive: true });
    for (const p of m.patches) {
      const path = join(dir, p.file);
      const text = readFileSync(path, "utf8");
      const count = text.split(p.find).length - 1;
      if (count !== 1) throw new Error(`mutant ${m.name}: pattern found ${count} times in ${p.file} (must be exactly once): ${JSON.stringify(p.find)}`);
      writeFileSync(path, text.replace(p.find, () => p.replace));
    }
    const core = await loadCore(dir);
    return { core, dispose: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

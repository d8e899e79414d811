// The shape of the core module the simulator drives: the real packages/omnipaxos/src, or another copy
// of it (a mutant from mutants.ts, or --core DIR) loaded by dynamic import. The simulator touches the
// core only through it.

import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export type CoreModule = typeof import("../../src/index.ts");

/** The core in packages/omnipaxos/src, or the one whose src directory is `srcDir`. */
export async function loadCore(srcDir?: string): Promise<CoreModule> {
  if (srcDir === undefined) return (await import("../../src/index.ts")) as CoreModule;
  return (await import(pathToFileURL(join(resolve(srcDir), "index.ts")).href)) as CoreModule;
}

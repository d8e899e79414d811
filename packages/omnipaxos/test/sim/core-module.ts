// The shape of the core module the simulator drives: the real packages/omnipaxos/src, or a mutated
// copy of it (mutants.ts) loaded by dynamic import. The simulator touches the core only through it.

export type CoreModule = typeof import("../../src/index.ts");

export async function loadCore(indexPath?: string): Promise<CoreModule> {
  if (indexPath === undefined) return (await import("../../src/index.ts")) as CoreModule;
  return (await import(indexPath)) as CoreModule;
}

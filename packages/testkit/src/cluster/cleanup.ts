// Last-resort cleanup: every metad child is SIGKILLed when this process exits, however it exits
// (normal end, uncaught error, SIGINT/SIGTERM), so no test or run leaves nodes behind.
import type { ChildProcess } from "node:child_process";

const children = new Set<ChildProcess>();
let installed = false;

function killAll(): void {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  children.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
  }
}

/** Tracks a child until it exits. */
export function trackChild(child: ChildProcess): void {
  install();
  children.add(child);
  child.once("exit", () => children.delete(child));
}

export function trackedChildCount(): number {
  return children.size;
}

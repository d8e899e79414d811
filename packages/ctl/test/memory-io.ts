// An in-memory Io for running ctl in-process in tests: captured stdout/stderr, given stdin/env.

import type { Io } from "../src/context.ts";
import { runCli } from "../src/cli.ts";

export interface CtlResult { code: number; stdout: string; stderr: string; elapsedMs: number }

export async function runInProcess(args: string[], options: { env?: Record<string, string>; stdin?: string; tty?: boolean } = {}): Promise<CtlResult> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    stdout: { write: (c) => ((stdout += typeof c === "string" ? c : Buffer.from(c).toString()), true), isTTY: options.tty },
    stderr: { write: (c) => ((stderr += typeof c === "string" ? c : Buffer.from(c).toString()), true) },
    stdin: (async function* () {
      if (options.stdin !== undefined) yield Buffer.from(options.stdin);
    })(),
    env: options.env ?? {},
    interrupt: new AbortController().signal,
    now: () => Date.UTC(2026, 0, 1),
  };
  const t0 = performance.now();
  const code = await runCli(args, io);
  return { code, stdout, stderr, elapsedMs: performance.now() - t0 };
}

// Runs the real `ctl` binary as a subprocess (stdin, env, exit code, timing) for integration tests,
// and streams a long-running one (watch) line by line.

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { repoRoot } from "../../client/test/metad-cluster.ts";

const ctlBin = join(repoRoot, "packages/ctl/bin/ctl.js");

export interface CtlRun { code: number | null; stdout: string; stdoutBytes: Buffer; stderr: string; elapsedMs: number }

export async function ctl(args: string[], options: { stdin?: string | Uint8Array } = {}): Promise<CtlRun> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [ctlBin, ...args], { cwd: repoRoot, env: cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
  const out: Buffer[] = [];
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => out.push(c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  child.stdin.end(options.stdin ?? "");
  const [code] = (await once(child, "close")) as [number | null];
  const stdoutBytes = Buffer.concat(out);
  return { code, stdout: stdoutBytes.toString("utf8"), stdoutBytes, stderr, elapsedMs: performance.now() - t0 };
}

/** A long-running ctl (watch): lines as they come; stop() sends SIGINT and returns the exit code. */
export class CtlStream {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = "";
  private waiters: (() => void)[] = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [ctlBin, ...args], { cwd: repoRoot, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      this.lines.push(line);
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stderr!.setEncoding("utf8").on("data", (c: string) => (this.stderr += c));
  }

  /** Resolves once at least `count` lines arrived (fails after timeoutMs). */
  async waitLines(count: number, timeoutMs = 20_000): Promise<string[]> {
    const until = performance.now() + timeoutMs;
    while (this.lines.length < count) {
      const left = until - performance.now();
      if (left <= 0 || this.child.exitCode !== null) {
        throw new Error(`got ${this.lines.length}/${count} lines: ${JSON.stringify(this.lines)} stderr: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
    return this.lines.slice(0, count);
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const closed = once(this.child, "close");
    this.child.kill("SIGINT");
    const [code] = (await closed) as [number | null];
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.CTL_ADDRESS;
  delete env.FORCE_COLOR;
  return env;
}

// A real `metad` child process for end-to-end tests and the benchmark: spawned with the tsx loader,
// ready when it logs "listening", killed for real (SIGKILL) or stopped (SIGTERM). Every child is
// tracked and killed when the test process exits, also on failure.

import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { once } from "node:events";

export const MAIN_PATH = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/** Ports below the kernel's ephemeral range, claimed against other test processes (see testkit's free-port.ts). */
export { freePort } from "@omnimeta/testkit";

export interface MetadOptions {
  name: string;
  dataDir: string;
  port: number;
  join?: string[];
  extraArgs?: string[];
  /** Extra environment of the process (e.g. OMNIMETA_UNSAFE for a fault test). */
  env?: Record<string, string>;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class MetadProcess {
  readonly address: string;
  /** Every stderr line (JSON log lines) of the current and earlier runs. */
  readonly logs: string[] = [];
  private child: ChildProcess | undefined;
  private exitPromise: Promise<ExitInfo> | undefined;

  constructor(readonly options: MetadOptions) {
    this.address = `http://127.0.0.1:${options.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  args(): string[] {
    const o = this.options;
    const args = ["--name", o.name, "--data-dir", o.dataDir, "--listen", `127.0.0.1:${o.port}`];
    if (o.join && o.join.length > 0) args.push("--join", o.join.join(","));
    return [...args, ...(o.extraArgs ?? [])];
  }

  /** Spawns the process; resolves once it logs "listening", rejects if it exits first. */
  async start(timeoutMs = 20_000): Promise<void> {
    const mark = this.logs.length; // a restart waits for its own "listening", not an earlier run's
    const exit = this.spawn();
    const ready = this.waitForLog((line) => line.includes('"msg":"listening"'), timeoutMs, mark);
    const outcome = await Promise.race([ready.then(() => "ready" as const), exit.then((e) => e)]);
    if (outcome !== "ready") {
      throw new Error(`metad ${this.options.name} exited before listening (code ${outcome.code}, signal ${outcome.signal}):\n${this.logs.slice(-20).join("\n")}`);
    }
  }

  /** Spawns the process and resolves with its exit (for processes expected to refuse to start). */
  run(): Promise<ExitInfo> {
    return this.spawn();
  }

  private spawn(): Promise<ExitInfo> {
    if (this.running) throw new Error(`metad ${this.options.name} is already running`);
    // OMNIMETA_NODE_FLAGS: extra node flags for every metad (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" to profile a bench).
    const nodeFlags = (process.env.OMNIMETA_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "");
    const child = spawn(process.execPath, [...nodeFlags, "--import", "tsx", MAIN_PATH, ...this.args()], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      ...(this.options.env ? { env: { ...process.env, ...this.options.env } } : {}),
    });
    this.child = child;
    live.add(child);
    let buffered = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        this.pushLog(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    child.stdout!.resume();
    this.exitPromise = new Promise<ExitInfo>((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        if (buffered !== "") this.pushLog(buffered);
        resolve({ code, signal });
      });
    });
    return this.exitPromise;
  }

  private readonly logWaiters = new Set<{ match: (line: string) => boolean; resolve: (line: string) => void }>();

  private pushLog(line: string): void {
    this.logs.push(line);
    for (const w of this.logWaiters) {
      if (w.match(line)) {
        this.logWaiters.delete(w);
        w.resolve(line);
      }
    }
  }

  /** Resolves with the first log line (already seen or future) that matches. */
  waitForLog(match: (line: string) => boolean, timeoutMs = 20_000, sinceIndex = 0): Promise<string> {
    const seen = this.logs.slice(sinceIndex).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.logWaiters.delete(waiter);
        reject(new Error(`metad ${this.options.name}: no matching log line within ${timeoutMs} ms; last lines:\n${this.logs.slice(-10).join("\n")}`));
      }, timeoutMs);
      this.logWaiters.add(waiter);
    });
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<ExitInfo | undefined> {
    if (!this.running) return undefined;
    this.child!.kill(signal);
    return this.exitPromise;
  }

  /** Graceful stop (SIGTERM), escalating to SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<ExitInfo | undefined> {
    if (!this.running) return undefined;
    const exit = this.exitPromise!;
    this.child!.kill("SIGTERM");
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), graceMs);
    try {
      return await exit;
    } finally {
      clearTimeout(timer);
    }
  }
}

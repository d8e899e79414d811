// One metad node as a real OS process: start (ready on its "listening" log line), SIGKILL, SIGSTOP /
// SIGCONT, graceful stop, restart with the same data dir. Its stderr goes to a log file.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { trackChild } from "./cleanup.ts";

export const METAD_BIN = fileURLToPath(new URL("../../../server/bin/metad.js", import.meta.url));

export interface MetadSpec {
  name: string;
  port: number;
  dataDir: string;
  logPath: string;
  /** Extra flags (peer routes, timing). */
  args: string[];
  /** OMNIMETA_UNSAFE for this node ("" for none). */
  unsafe: string;
  /** "https" when args carry --tls-* flags (default "http"). */
  scheme?: "http" | "https";
}

export type ProcessState = "stopped" | "running" | "paused";

export class MetadProcess {
  private child: ChildProcess | undefined;
  private log: WriteStream;
  private exited: Promise<void> = Promise.resolve();
  state: ProcessState = "stopped";
  /** Bumped each time the harness wipes the data dir: a new incarnation is a new replica. */
  incarnation = 0;
  /** Flags used on the next start only (e.g. --join after a wipe). */
  nextStartArgs: string[] = [];
  startCount = 0;

  constructor(readonly spec: MetadSpec) {
    this.log = createWriteStream(spec.logPath, { flags: "a" });
  }

  get name(): string {
    return this.spec.name;
  }

  get address(): string {
    return `${this.spec.scheme ?? "http"}://127.0.0.1:${this.spec.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns the node and resolves once it logs that it is listening. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.state !== "stopped") throw new Error(`${this.name} is ${this.state}`);
    const { name, port, dataDir, args, unsafe } = this.spec;
    const argv = [METAD_BIN, "--name", name, "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--advertise", this.address, ...args, ...this.nextStartArgs];
    this.nextStartArgs = [];
    this.log.write(`--- start ${++this.startCount}: ${argv.slice(1).join(" ")}${unsafe ? ` (OMNIMETA_UNSAFE=${unsafe})` : ""}\n`);
    // OMNIMETA_NODE_FLAGS: node flags for every metad spawned (e.g. --cpu-prof, which NODE_OPTIONS refuses).
    const nodeFlags = (process.env.OMNIMETA_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "");
    const child = spawn(process.execPath, [...nodeFlags, ...argv], { env: { ...process.env, OMNIMETA_UNSAFE: unsafe }, stdio: ["ignore", "ignore", "pipe"] });
    trackChild(child);
    this.child = child;
    this.state = "running";
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.once("exit", (code, signal) => {
      this.log.write(`--- exit code=${code} signal=${signal}\n`);
      if (this.child === child) {
        this.child = undefined;
        this.state = "stopped";
      }
    });
    await this.awaitListening(child, timeoutMs);
  }

  private awaitListening(child: ChildProcess, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let buffered = "";
      const tail: string[] = [];
      const timer = setTimeout(() => fail(`did not log "listening" within ${timeoutMs} ms`), timeoutMs);
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} ${why}; last log lines:\n${tail.join("\n")}`));
      };
      child.once("exit", (code, signal) => fail(`exited (code ${code}, signal ${signal}) before listening`));
      child.stderr!.on("data", (chunk: Buffer) => {
        this.log.write(chunk);
        buffered += chunk.toString();
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          tail.push(line);
          if (tail.length > 20) tail.shift();
          if (line.includes('"msg":"listening"')) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
    });
  }

  /** SIGKILL; resolves when the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM (a graceful stop: a --cpu-prof profile is written); SIGKILL after `graceMs`. Resolves when gone. */
  async terminate(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (child === undefined || this.state === "stopped") return;
    if (this.state === "paused") this.resume();
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Sends a signal (e.g. SIGHUP: reload the TLS files). */
  signal(signal: NodeJS.Signals): void {
    if (this.state !== "running") throw new Error(`cannot signal ${this.name}: ${this.state}`);
    this.child!.kill(signal);
  }

  pause(): void {
    if (this.state !== "running") throw new Error(`cannot pause ${this.name}: ${this.state}`);
    this.child!.kill("SIGSTOP");
    this.state = "paused";
  }

  resume(): void {
    if (this.state !== "paused") return;
    this.child!.kill("SIGCONT");
    this.state = "running";
  }

  /** SIGTERM (graceful), then SIGKILL after graceMs. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    if (this.state === "paused") this.resume();
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async closeLog(): Promise<void> {
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }
}

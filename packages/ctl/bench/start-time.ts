// How long one `ctl` call takes, wall time from spawn to exit: the launcher (bundle or tsx), Node's own
// start, the CLI, and for `metadata get` one linearizable read from a real cluster. Used by
// `npm run bench:ctl` (bench/main.ts) and by the start-time test.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export const CTL_BIN = fileURLToPath(new URL("../bin/ctl.js", import.meta.url));

export interface TimedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** "bundle" or "tsx", from the launcher's OMNIMETA_LAUNCH_TRACE line. */
  launch: string;
  /** The bundle file that ran (when launch is "bundle"). */
  bundle: string | undefined;
}

/** Runs ctl once with the launcher's trace on, and times it from spawn to exit. */
export async function timeCtl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<TimedRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, OMNIMETA_LAUNCH_TRACE: "1" };
  delete childEnv.NODE_OPTIONS; // a caller's --import tsx would load the TypeScript loader into ctl too
  const t0 = performance.now();
  const child = spawn(process.execPath, [CTL_BIN, ...args], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const [code] = (await once(child, "close")) as [number | null];
  const wallMs = performance.now() - t0;
  const trace = /^launch: (\w+)(?: \w+ (\S+))?.*\n/m.exec(stderr);
  return { code, stdout, stderr: stderr.replace(/^launch: .*\n/m, ""), wallMs, launch: trace?.[1] ?? "unknown", bundle: trace?.[2] };
}

/** `node -e 0` from spawn to exit: the floor under any Node CLI on this machine right now. */
export async function timeBareNode(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
  await once(child, "close");
  return performance.now() - t0;
}

export interface Summary {
  runs: number;
  minMs: number;
  p50Ms: number;
  p90Ms: number;
  maxMs: number;
}

export function summarise(samplesMs: number[]): Summary {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { runs: s.length, minMs: r(s[0]!), p50Ms: r(at(0.5)), p90Ms: r(at(0.9)), maxMs: r(s[s.length - 1]!) };
}

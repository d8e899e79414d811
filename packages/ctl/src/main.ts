// The ctl entry point: wires the real process (streams, env, Ctrl-C) into runCli, and is the
// only place that calls process.exit.

import type { Io } from "./context.ts";
import { runCli } from "./cli.ts";

const interrupt = new AbortController();
process.once("SIGINT", () => interrupt.abort());
process.once("SIGTERM", () => interrupt.abort());
process.stdout.on("error", () => process.exit(0)); // e.g. `ctl ... | head`: the reader went away

const io: Io = {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  interrupt: interrupt.signal,
  now: () => Date.now(),
};

const code = await runCli(process.argv.slice(2), io);
// Let stdout drain before exiting (large `get --output raw` values, piped output).
process.stdout.write("", () => process.exit(code));

// The ctl entry point: wires the real process into the program, and is the only place that
// calls process.exit (with the code errors.ts chose).

import { CommanderError } from "commander";
import type { Io } from "./context.ts";
import { buildProgram } from "./program.ts";
import { exitCodeFor, renderError } from "./errors.ts";

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

const argv = process.argv.slice(2);
const json = argv.includes("--json");
let code = 0;
try {
  await buildProgram(io, json).parseAsync(argv, { from: "user" });
} catch (err) {
  code = exitCodeFor(err);
  // Commander already printed its own errors (through outputError); help and version exit 0.
  if (!(err instanceof CommanderError)) process.stderr.write(renderError(err, json));
}
// Let stdout drain before exiting (large `get --output raw` values, piped output).
process.stdout.write("", () => process.exit(code));

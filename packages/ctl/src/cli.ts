// Runs one ctl invocation against an Io and returns its exit code, printing errors the way
// errors.ts says. main.ts wires it to the real process; tests call it directly.

import { CommanderError } from "commander";
import type { Io } from "./context.ts";
import { buildProgram } from "./program.ts";
import { exitCodeFor, renderError } from "./errors.ts";

export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const json = argv.includes("--json");
  try {
    await buildProgram(io, json).parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    // Commander printed its own errors already (program.ts routes them through renderError).
    if (!(err instanceof CommanderError)) io.stderr.write(renderError(err, json));
    return exitCodeFor(err);
  }
}

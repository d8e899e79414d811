// @omnimeta/ctl as a library: the command tree and the error-to-exit-code mapping (for tests and embedding).
export { buildProgram } from "./program.ts";
export { runCli } from "./cli.ts";
export { exitCodeFor, renderError, ExitCode, UsageError } from "./errors.ts";
export type { Io } from "./context.ts";

// Shared plumbing of the command files: running an action with a Context (closed afterwards),
// option parsers that fail as usage errors, and help-text examples.

import { Command, InvalidArgumentError } from "commander";
import { Context } from "./context.ts";
import type { GlobalOptions, Io } from "./context.ts";

export type ActionFn<O> = (ctx: Context, args: string[], options: O) => Promise<void>;

/** Wraps a command body: builds the Context from the global and local options, closes it after. */
export function action<O>(io: Io, fn: ActionFn<O>): (...raw: unknown[]) => Promise<void> {
  return async (...raw: unknown[]) => {
    const cmd = raw[raw.length - 1] as Command;
    const ctx = new Context(cmd.optsWithGlobals<GlobalOptions>(), io);
    try {
      await fn(ctx, cmd.args, cmd.opts() as O);
    } finally {
      ctx.close();
    }
  };
}

export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a non-negative integer");
  return Number(value);
}

export function parsePositiveInt(value: string): number {
  const n = parseNonNegativeInt(value);
  if (n === 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** Seconds, with an optional "s" or "ms" suffix, e.g. 10, 2.5s, 500ms. Returns milliseconds. */
export function parseDurationMs(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value);
  if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError("expected a duration such as 10, 2.5s or 500ms");
  return m[2] === "ms" ? Number(m[1]) : Number(m[1]) * 1000;
}

/** Adds an "Examples:" block after a command's help. */
export function withExamples(cmd: Command, examples: readonly string[]): Command {
  return cmd.addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`);
}

// The ctl command tree: global options, the command groups (one file each), help with examples.
// Parsing errors throw (exitOverride) so that main.ts alone turns them into exit codes.

import { Command, Option } from "commander";
import type { Io } from "./context.ts";
import { defaultAddresses, defaultTimeoutMs } from "./context.ts";
import { parsePositiveInt, withExamples } from "./command-kit.ts";
import { renderError } from "./errors.ts";
import { CommanderError } from "commander";
import { registerCluster } from "./commands/cluster.ts";
import { registerMetadata } from "./commands/metadata.ts";
import { registerMembers } from "./commands/members.ts";
import { registerLeader } from "./commands/leader.ts";
import { registerBench } from "./commands/bench.ts";
import { registerSnapshot } from "./commands/snapshot.ts";

export function buildProgram(io: Io, json: boolean): Command {
  const program = new Command("ctl")
    .description("the omnimeta admin CLI: provision, inspect and use a cluster")
    .addOption(new Option("--address <urls>", "comma-separated node URLs").env("CTL_ADDRESS").default(defaultAddresses))
    .option("--json", "machine-readable output: one JSON object per result (per line for watches)")
    .option("--timeout <ms>", "deadline of each request, retries included", parsePositiveInt, defaultTimeoutMs)
    .option("--no-color", "no colour (also off when stdout is not a terminal)")
    .addOption(new Option("--ca <file>", "PEM CA that signs the servers' certificates (https:// addresses)").env("CTL_CA"))
    .addOption(new Option("--cert <file>", "PEM client certificate, for servers that require one (mutual TLS)").env("CTL_CERT"))
    .addOption(new Option("--key <file>", "PEM private key of --cert").env("CTL_KEY"))
    .addOption(new Option("--token <token>", "bearer token for servers started with --auth-token-file (or the admin token); prefer CTL_TOKEN or --token-file, a flag shows in ps").env("CTL_TOKEN"))
    .addOption(new Option("--token-file <file>", "read the bearer token from the first line of this file").env("CTL_TOKEN_FILE"))
    .showSuggestionAfterError(true);
  withExamples(program, [
    "ctl cluster provision",
    "ctl metadata put greeting hello",
    "ctl metadata get greeting",
    "ctl --json cluster status",
    "CTL_ADDRESS=http://10.0.0.1:7001 ctl members list",
    "ctl --address https://10.0.0.1:7001 --ca ca.pem --cert client.pem --key client-key.pem cluster status",
    "CTL_TOKEN=$(cat client.token) ctl metadata get greeting",
    "ctl --token-file admin.token members add http://10.0.0.4:7001",
  ]);
  registerCluster(program, io);
  registerMetadata(program, io);
  registerMembers(program, io);
  registerLeader(program, io);
  registerBench(program, io);
  registerSnapshot(program, io);
  configureTree(program, io, json);
  return program;
}

/** Every command: throw instead of exiting, write through io, and report usage errors our way. */
function configureTree(cmd: Command, io: Io, json: boolean): void {
  cmd.exitOverride().configureOutput({
    writeOut: (s) => void io.stdout.write(s),
    writeErr: (s) => void io.stderr.write(s),
    outputError: (s, write) => write(renderError(new CommanderError(2, "usage", s.trim()), json)),
  });
  for (const sub of cmd.commands) configureTree(sub, io, json);
}

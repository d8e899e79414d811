// `ctl leader watch`: one line per leadership change (time, leader, ballot) until Ctrl-C.

import type { Command } from "commander";
import type { Context, Io } from "../context.ts";
import { action, withExamples } from "../command-kit.ts";
import { renderJson } from "../render/json.ts";
import { ballotText, leaderChangeView } from "../views.ts";
import type { LeaderChangeView } from "../views.ts";

export function registerLeader(program: Command, io: Io): void {
  const group = withExamples(
    program.command("leader").description("follow leadership"),
    ["ctl leader watch", "ctl --json leader watch | jq -c '{time, leaderName}'"],
  );
  group.command("watch").description("print the leader now and one line per change, until Ctrl-C")
    .action(action(io, (ctx) => watchLeader(ctx)));
}

async function watchLeader(ctx: Context): Promise<void> {
  const client = ctx.client();
  await client.status(); // fails (exit 3) within --timeout when no node answers; then the stream reconnects forever
  for await (const change of client.watchLeader({ signal: ctx.io.interrupt })) {
    const view = leaderChangeView(change, ctx.io.now());
    ctx.io.stdout.write(ctx.json ? renderJson(view) : leaderLine(ctx, view));
  }
}

export function leaderLine(ctx: Context, v: LeaderChangeView): string {
  const c = ctx.chalk;
  const who = v.leaderId === 0 ? c.yellow("no leader") : `leader ${c.bold(v.leaderName || `node ${v.leaderId}`)} (id ${v.leaderId}) ${v.leaderAddress}`;
  return `${c.dim(v.time)}  ${who}  ballot ${ballotText(v.ballot)}  configuration ${v.configurationId}\n`;
}

// `ctl members list|add|remove`: the configuration and its reconfigurations (StopSigns).
// add and remove print the new configuration.

import type { Command } from "commander";
import type { Io } from "../context.ts";
import { action, withExamples } from "../command-kit.ts";
import { configurationView, membersView } from "../views.ts";
import { configurationText } from "./cluster.ts";

export function registerMembers(program: Command, io: Io): void {
  const group = withExamples(
    program.command("members").description("list, add and remove members (each change is a reconfiguration)"),
    ["ctl members list", "ctl members add http://127.0.0.1:7004", "ctl members remove n4", "ctl members remove 4"],
  );
  group.command("list").description("the current configuration and its members")
    .action(action(io, async (ctx) => {
      const view = membersView(await ctx.client().listMembers());
      ctx.emit(view, (v) => configurationText(ctx, v));
    }));
  group.command("add").argument("<address>", "the new node's address, e.g. http://127.0.0.1:7004")
    .description("add a running node; prints the new configuration")
    .action(action(io, async (ctx, [address]) => {
      const res = await ctx.client().addMember(address);
      ctx.emit(configurationView(res.configuration, 0n), (v) => configurationText(ctx, v));
    }));
  group.command("remove").argument("<node>", "node id (digits) or name")
    .description("remove a member by id or name; prints the new configuration")
    .action(action(io, async (ctx, [node]) => {
      const res = await ctx.client().removeMember(/^\d+$/.test(node) ? BigInt(node) : node);
      ctx.emit(configurationView(res.configuration, 0n), (v) => configurationText(ctx, v));
    }));
}

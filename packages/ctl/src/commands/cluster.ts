// `ctl cluster provision|status`. Status fans out to every member (and every --address) at once
// and gives each unreachable node a row of its own with the reason.

import type { Command } from "commander";
import { errorFromConnect } from "@omnimeta/client";
import type { Context, Io } from "../context.ts";
import { CommandFailed, ExitCode, errorCodeName, errorMessage, exitCodeFor } from "../errors.ts";
import { action, withExamples } from "../command-kit.ts";
import { renderFields, renderTable } from "../render/table.ts";
import { ballotText, configurationView, nodeStatusView } from "../views.ts";
import type { ConfigurationView, NodeStatusView } from "../views.ts";
import { normalizeAddress } from "@omnimeta/client";

export interface ClusterStatusView {
  clusterId: string;
  leaderId: number;
  configurationId: number;
  nodes: NodeStatusView[];
}

export function registerCluster(program: Command, io: Io): void {
  const group = withExamples(
    program.command("cluster").description("provision the cluster and see the state of every node"),
    ["ctl cluster provision", "ctl cluster status", "ctl --json cluster status | jq '.nodes[] | {name, lag}'"],
  );
  group.command("provision").description("create configuration 1 on the first --address (only that node; a repeat changes nothing)")
    .option("--force-new-cluster", "provision a node started with --join although some of those peers cannot be reached "
      + "(they may already be in a cluster: this can make a second one)")
    .action(action<ProvisionOptions>(io, (ctx, _args, o) => provision(ctx, o)));
  group.command("status").description("one row per node: state, leader, configuration, decided/applied index, lag")
    .action(action(io, (ctx) => status(ctx)));
}

interface ProvisionOptions { forceNewCluster?: boolean }

async function provision(ctx: Context, o: ProvisionOptions): Promise<void> {
  const res = await ctx.client().provision({ forceNewCluster: o.forceNewCluster ?? false });
  const view = { alreadyProvisioned: res.alreadyProvisioned, clusterId: res.clusterId, configuration: configurationView(res.configuration, 0n) };
  ctx.emit(view, (v) => {
    const head = v.alreadyProvisioned
      ? `${ctx.chalk.yellow("already provisioned")}: cluster ${v.clusterId}, nothing changed\n`
      : `${ctx.chalk.green("provisioned")} cluster ${v.clusterId}\n`;
    return head + configurationText(ctx, v.configuration);
  });
}

async function status(ctx: Context): Promise<void> {
  const client = ctx.client();
  const addresses = new Set(ctx.addresses.map(normalizeAddress));
  let membersError: unknown;
  try {
    const members = await client.listMembers({ timeoutMs: Math.min(ctx.timeoutMs, 3_000) });
    for (const m of members.configuration?.members ?? []) if (m.address !== "") addresses.add(normalizeAddress(m.address));
  } catch (err) {
    membersError = err; // unprovisioned or unreachable: show what the given addresses say
  }
  const nodes = await Promise.all([...addresses].map(async (address): Promise<NodeStatusView> => {
    try {
      return nodeStatusView(address, await client.statusOf(address, { timeoutMs: ctx.timeoutMs }));
    } catch (raw) {
      const err = errorFromConnect(raw);
      return { address, reachable: false, error: { code: errorCodeName(err), message: errorMessage(err) } };
    }
  }));
  const view = summarize(nodes);
  ctx.emit(view, (v) => statusText(ctx, v));
  if (!nodes.some((n) => n.reachable)) {
    // A refused token is no outage: say so (exit 5), not "unreachable".
    if (membersError !== undefined && exitCodeFor(membersError) === ExitCode.auth) throw membersError;
    const why = membersError === undefined ? "" : `: ${errorMessage(membersError)}`;
    throw new CommandFailed(`no node reachable${why}`, ExitCode.unavailable);
  }
}

/** Fills in the lag (the highest decided index seen minus the node's applied index) and the cluster-wide fields. */
export function summarize(nodes: NodeStatusView[]): ClusterStatusView {
  const up = nodes.filter((n) => n.reachable);
  const decidedMax = Math.max(0, ...up.map((n) => n.decidedIdx));
  for (const n of up) n.lag = Math.max(0, decidedMax - n.appliedIdx);
  const leader = up.find((n) => n.isLeader);
  const ordered = [...up.sort((a, b) => a.nodeId - b.nodeId), ...nodes.filter((n) => !n.reachable)];
  return {
    clusterId: up.find((n) => n.clusterId !== "")?.clusterId ?? "",
    leaderId: leader?.nodeId ?? up[0]?.leaderId ?? 0,
    configurationId: Math.max(0, ...up.map((n) => n.configurationId)),
    nodes: ordered,
  };
}

export function statusText(ctx: Context, v: ClusterStatusView): string {
  const c = ctx.chalk;
  const up = v.nodes.flatMap((n) => (n.reachable ? [n] : []));
  const down = v.nodes.flatMap((n) => (n.reachable ? [] : [n]));
  let out = up.length === 0 ? "" : renderTable([
    { header: "NAME", value: (n: typeof up[number]) => n.name },
    { header: "ID", value: (n) => String(n.nodeId), align: "right" },
    { header: "ADDRESS", value: (n) => n.address },
    { header: "STATE", value: (n) => n.state, style: (t, n) => (n.state === "active" ? c.green(t) : c.yellow(t)) },
    { header: "LEADER", value: (n) => (n.isLeader ? "*" : ""), style: (t) => c.bold(t) },
    { header: "CONFIG", value: (n) => String(n.configurationId), align: "right" },
    { header: "BALLOT", value: (n) => ballotText(n.ballot) },
    { header: "DECIDED", value: (n) => String(n.decidedIdx), align: "right" },
    { header: "APPLIED", value: (n) => String(n.appliedIdx), align: "right" },
    { header: "LAG", value: (n) => String(n.lag), align: "right", style: (t, n) => (n.lag > 0 ? c.yellow(t) : t) },
  ], up, c);
  if (down.length > 0) {
    out += `${out === "" ? "" : "\n"}${c.red("unreachable")}\n` + renderTable([
      { header: "ADDRESS", value: (n: typeof down[number]) => n.address },
      { header: "REASON", value: (n) => n.error.message },
    ], down, c);
  }
  const details = up.filter((n) => n.stateDetail !== "");
  for (const n of details) out += c.dim(`${n.name}: ${n.stateDetail}\n`);
  for (const n of up) {
    const t = n.transfer;
    if (t !== null) out += c.yellow(`${n.name}: receiving a snapshot from node ${t.fromNodeId} (revision ${t.revision}): ${mib(t.bytesReceived)} MiB, ${t.percent}% of ${t.recordsTotal} records\n`);
  }
  return out;
}

export function configurationText(ctx: Context, v: ConfigurationView): string {
  const c = ctx.chalk;
  const head = renderFields([["configuration", String(v.configurationId)], ["start idx", String(v.startIdx)]], c);
  return head + renderTable([
    { header: "ID", value: (m: ConfigurationView["members"][number]) => String(m.nodeId), align: "right" },
    { header: "NAME", value: (m) => m.name },
    { header: "ADDRESS", value: (m) => m.address },
    { header: "STORAGE ID", value: (m) => m.storageId },
    { header: "LEADER", value: (m) => (m.leader ? "*" : ""), style: (t) => c.bold(t) },
  ], v.members, c);
}

const mib = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);

// `ctl metadata get|put|delete|list|watch`: the key-value commands. Each collects a view
// (views.ts) and hands it to the renderer; --json prints the view itself.

import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { limits, WatchCompactedError } from "@omnimeta/client";
import type { Context, Io } from "../context.ts";
import { UsageError } from "../errors.ts";
import { action, parseNonNegativeInt, parsePositiveInt, withExamples } from "../command-kit.ts";
import { renderFields, renderTable } from "../render/table.ts";
import { renderJson } from "../render/json.ts";
import { deleteView, kvView, putView, watchEventView } from "../views.ts";
import type { KvView, WatchEventView } from "../views.ts";

interface GetOptions { output?: string; serializable?: boolean }
interface PutOptions { file?: string; ifVersion?: number; ifAbsent?: boolean }
interface DeleteOptions { ifVersion?: number }
interface ListOptions { limit?: number; keysOnly?: boolean; serializable?: boolean }
interface WatchOptions { prefix?: string; rev?: number }

export function registerMetadata(program: Command, io: Io): void {
  const group = withExamples(
    program.command("metadata").description("read and write versioned keys"),
    [
      "ctl metadata put config/db '{\"url\":\"pg://x\"}'",
      "ctl metadata get config/db",
      "ctl metadata put config/db v2 --if-version 1",
      "ctl metadata list config/ --limit 10",
      "ctl metadata watch --prefix config/",
    ],
  );
  group.command("get").argument("<key>").description("print a key's value and version")
    .option("--output <format>", "text (default) or raw (the value bytes only)", "text")
    .option("--serializable", "read from the node asked, possibly stale")
    .action(action<GetOptions>(io, (ctx, [key], o) => get(ctx, key, o)));
  group.command("put").argument("<key>").argument("[value]", "the value, or - to read it from stdin")
    .description("write a key; prints the new version and revision")
    .option("--file <path>", "read the value from a file")
    .option("--if-version <n>", "only if the key has exactly this version", parseNonNegativeInt)
    .option("--if-absent", "only if the key does not exist")
    .action(action<PutOptions>(io, (ctx, [key, value], o) => put(ctx, key, value, o)));
  group.command("delete").argument("<key>").description("delete a key")
    .option("--if-version <n>", "only if the key has exactly this version", parseNonNegativeInt)
    .action(action<DeleteOptions>(io, (ctx, [key], o) => del(ctx, key, o)));
  group.command("list").argument("[prefix]", "only keys starting with this", "").description("list keys under a prefix")
    .option("--limit <n>", "at most this many keys", parsePositiveInt)
    .option("--keys-only", "omit the values")
    .option("--serializable", "read from the node asked, possibly stale")
    .action(action<ListOptions>(io, (ctx, [prefix], o) => list(ctx, prefix ?? "", o)));
  group.command("watch").argument("[key]").description("print one line per change of a key or prefix, until Ctrl-C")
    .option("--prefix <prefix>", "watch every key starting with this")
    .option("--rev <revision>", "start from this revision (default: from now on)", parsePositiveInt)
    .action(action<WatchOptions>(io, (ctx, [key], o) => watch(ctx, key, o)));
}

async function get(ctx: Context, key: string, o: GetOptions): Promise<void> {
  if (o.output !== "text" && o.output !== "raw") throw new UsageError(`--output must be text or raw, not ${o.output}`);
  const res = await ctx.client().get(key, { consistency: o.serializable ? "serializable" : "linearizable" });
  if (o.output === "raw") {
    ctx.io.stdout.write(res.kv?.value ?? new Uint8Array());
    return;
  }
  const view = { ...kvView(res.kv!), revision: Number(res.revision) };
  ctx.emit(view, (v) => renderFields([
    ["key", v.key],
    ["value", displayValue(v)],
    ["version", String(v.version)],
    ["created", `revision ${v.createRevision}`],
    ["modified", `revision ${v.modRevision}`],
  ], ctx.chalk));
}

async function put(ctx: Context, key: string, value: string | undefined, o: PutOptions): Promise<void> {
  if (o.ifVersion !== undefined && o.ifAbsent) throw new UsageError("--if-version and --if-absent exclude each other");
  const bytes = await readValue(ctx.io, value, o.file);
  const res = await ctx.client().put(key, bytes, { ifVersion: o.ifVersion, ifAbsent: o.ifAbsent });
  ctx.emit(putView(key, res), (v) => `${ctx.chalk.green("OK")} ${v.key} version ${v.version} revision ${v.revision}\n`);
}

async function readValue(io: Io, value: string | undefined, file: string | undefined): Promise<Uint8Array> {
  if (value !== undefined && file !== undefined) throw new UsageError("give the value or --file, not both");
  if (file !== undefined) {
    try {
      return await readFile(file);
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  if (value === undefined) throw new UsageError("missing value: give VALUE, --file PATH, or - for stdin");
  if (value !== "-") return new TextEncoder().encode(value);
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function del(ctx: Context, key: string, o: DeleteOptions): Promise<void> {
  const res = await ctx.client().delete(key, { ifVersion: o.ifVersion });
  ctx.emit(deleteView(key, res), (v) =>
    `${ctx.chalk.green("OK")} deleted ${v.key} (was version ${v.previousVersion}) revision ${v.revision}\n`);
}

async function list(ctx: Context, prefix: string, o: ListOptions): Promise<void> {
  const client = ctx.client();
  const kvs: KvView[] = [];
  let revision = 0;
  let pageToken = "";
  do {
    const remaining = Math.min(limits.listPageCountMax, o.limit === undefined ? Infinity : o.limit - kvs.length);
    const page = await client.list(prefix, {
      limit: remaining, pageToken, keysOnly: o.keysOnly, consistency: o.serializable ? "serializable" : "linearizable",
    });
    if (revision === 0) revision = Number(page.revision);
    kvs.push(...page.kvs.map(kvView));
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && (o.limit === undefined || kvs.length < o.limit));
  const view = { prefix, revision, count: kvs.length, kvs: kvs.slice(0, o.limit) };
  ctx.emit(view, (v) => v.kvs.length === 0
    ? ctx.chalk.dim(`no keys under "${prefix}"\n`)
    : renderTable<KvView>([
      { header: "KEY", value: (r) => r.key },
      { header: "VERSION", value: (r) => String(r.version), align: "right" },
      { header: "REVISION", value: (r) => String(r.modRevision), align: "right" },
      ...(o.keysOnly ? [] : [{ header: "VALUE", value: (r: KvView) => preview(displayValue(r)) }]),
    ], v.kvs, ctx.chalk));
}

async function watch(ctx: Context, key: string | undefined, o: WatchOptions): Promise<void> {
  if ((key === undefined) === (o.prefix === undefined)) throw new UsageError("give a KEY or --prefix P (one of them)");
  const target = key ?? o.prefix!;
  if (ctx.io.stderr.isTTY && !ctx.json) {
    ctx.io.stderr.write(ctx.chalk.dim(`watching ${key === undefined ? `keys under "${target}"` : `"${target}"`} (Ctrl-C to stop)\n`));
  }
  const events = ctx.client().watch(target, { prefix: o.prefix !== undefined, startRevision: o.rev, signal: ctx.io.interrupt });
  try {
    for await (const event of events) {
      const view = watchEventView(event);
      ctx.io.stdout.write(ctx.json ? renderJson(view) : watchLine(ctx, view));
    }
  } catch (err) {
    if (err instanceof WatchCompactedError) throw compactedHint(err, key === undefined ? `list ${target}` : `get ${target}`);
    throw err;
  }
}

/** What a watch from a compacted revision means, and the commands that resume it, on one line. */
function compactedHint(err: WatchCompactedError, reread: string): WatchCompactedError {
  const message = `cannot watch from revision ${err.requestedRevision}: the history starts at revision ${err.oldestRevision} ` +
    `(the node is at ${err.currentRevision}), the changes before are gone; resume by reading again with ` +
    `\`ctl --json metadata ${reread}\` and watching with --rev <its revision + 1>`;
  return new WatchCompactedError(message, {
    requestedRevision: err.requestedRevision, oldestRetainedRevision: err.oldestRevision, currentRevision: err.currentRevision,
  }, { cause: err });
}

function watchLine(ctx: Context, v: WatchEventView): string {
  const type = v.type === "put" ? ctx.chalk.green("PUT   ") : ctx.chalk.red("DELETE");
  const value = v.type === "put" ? `  ${preview(displayValue(v))}` : "";
  return `${type} ${v.key}  version ${v.version}  revision ${v.revision}${value}\n`;
}

function displayValue(v: { value: string | null; valueBase64: string }): string {
  return v.value ?? `base64:${v.valueBase64}`;
}

function preview(text: string): string {
  const oneLine = text.replace(/\n/g, "\\n");
  return oneLine.length > 60 ? `${oneLine.slice(0, 57)}...` : oneLine;
}

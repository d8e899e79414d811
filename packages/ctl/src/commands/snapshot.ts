// `ctl snapshot save FILE`: a node's snapshot (the leader's unless --node) streamed into FILE.tmp, flushed
// to disk, then renamed to FILE, so that FILE is a whole snapshot or untouched, never a partial one.
// `metad --restore FILE` starts a new cluster from it (README: Backup and disaster recovery).

import { open, rename, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import type { Command } from "commander";
import type { Context, Io } from "../context.ts";
import { UsageError } from "../errors.ts";
import { action, withExamples } from "../command-kit.ts";

interface SaveOptions { node?: string }

export interface SnapshotSaveView {
  file: string;
  bytes: number;
  /** The revision every key of the snapshot is at. */
  revision: number;
  keyCount: number;
  /** The cluster the snapshot comes from (a restore makes a new one). */
  clusterId: string;
  /** The node that sent it. */
  node: string;
  formatVersion: number;
}

export function registerSnapshot(program: Command, io: Io): void {
  const group = withExamples(
    program.command("snapshot").description("back up the key-value state (restore it with metad --restore FILE)"),
    ["ctl snapshot save backup.snap", "ctl --json snapshot save /backups/omnimeta-$(date +%F).snap", "metad --name n1 --data-dir /new/dir --restore backup.snap"],
  );
  group.command("save").argument("<file>", "where to write it (replaced only once the whole snapshot is on disk)")
    .description("write a consistent snapshot of the leader's applied state: every key with its version and revisions")
    .option("--node <url>", "snapshot this node instead of the leader (its applied state may be behind)")
    .action(action<SaveOptions>(io, (ctx, [file], o) => save(ctx, file!, o)));
}

async function save(ctx: Context, file: string, o: SaveOptions): Promise<void> {
  const tmp = `${file}.tmp`;
  const out = await open(tmp, "w").catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write ${tmp}: ${e.code ?? e.message}`);
  });
  let closed = false;
  let renamed = false;
  try {
    const snapshot = await ctx.client().saveSnapshot({ address: o.node, signal: ctx.io.interrupt });
    let bytes = 0;
    for await (const chunk of snapshot.chunks) {
      await writeAll(out, chunk, tmp);
      bytes += chunk.length;
    }
    await local(tmp, () => out.sync());
    closed = true;
    await local(tmp, () => out.close());
    await local(file, () => rename(tmp, file));
    renamed = true;
    await syncDirectory(dirname(file));
    const { info } = snapshot;
    const view: SnapshotSaveView = { file, bytes, revision: info.revision, keyCount: info.keyCount, clusterId: info.clusterId, node: snapshot.address, formatVersion: info.formatVersion };
    ctx.emit(view, (v) => `${ctx.chalk.green("saved")} ${v.file}: revision ${v.revision}, ${v.keyCount} keys, ${v.bytes} bytes from ${v.node} (cluster ${v.clusterId})\n`);
  } finally {
    if (!closed) await out.close().catch(() => undefined);
    if (!renamed) await rm(tmp, { force: true });
  }
}

async function writeAll(out: FileHandle, chunk: Uint8Array, path: string): Promise<void> {
  for (let at = 0; at < chunk.length;) {
    const { bytesWritten } = await local(path, () => out.write(chunk, at, chunk.length - at));
    at += bytesWritten;
  }
}

/** A local file operation whose failure (disk full, no permission) is one line naming the file. */
async function local<T>(path: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw new UsageError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Makes the rename durable (the directory entry), where the platform allows opening a directory. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r").catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

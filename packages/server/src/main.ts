// The metad binary: flags/config -> startNode; SIGTERM/SIGINT stop it gracefully, SIGHUP reloads the TLS
// files. Startup errors are one readable line on stderr (exit 2 for usage, 1 otherwise), never a stack trace.

import { ConfigError, HelpRequested, parseCommandLine } from "./config.ts";
import { startNode, type MetaNode } from "./node/meta-node.ts";

async function main(): Promise<void> {
  let options;
  try {
    options = parseCommandLine(process.argv.slice(2));
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(`${e.message}\n`);
      process.exit(0);
    }
    process.stderr.write(`metad: ${(e as Error).message}\n`);
    process.exit(e instanceof ConfigError ? 2 : 1);
  }
  let node: MetaNode;
  try {
    node = await startNode(options);
  } catch (e) {
    process.stderr.write(`metad: ${(e as Error).message}\n`);
    process.exit(1);
  }
  let signals = 0;
  const stop = (signal: string): void => {
    if (++signals > 1) process.exit(1);
    process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), level: "info", node: options.name, msg: "signal", signal }) + "\n");
    void node.close();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // SIGHUP re-reads the TLS files (a renewed certificate) without a restart; without TLS it is ignored.
  process.on("SIGHUP", () => {
    if (options.tls === undefined) return;
    try {
      node.reloadTls();
    } catch (e) {
      process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), level: "error", node: options.name, msg: "TLS reload failed; keeping the previous certificates", error: (e as Error).message }) + "\n");
    }
  });
  const { error } = await node.stopped;
  process.exit(error === undefined ? 0 : 1);
}

void main();

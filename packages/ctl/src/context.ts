// What every command runs with: the resolved global options, the output streams, the colour
// decision, the interrupt signal (Ctrl-C) and the client, made on first use and closed after.

import { readFileSync } from "node:fs";
import { Chalk } from "chalk";
import type { ChalkInstance } from "chalk";
import { OmnimetaClient, tlsFromFiles, type ClientTls } from "@omnimeta/client";
import { renderJson } from "./render/json.ts";
import { UsageError } from "./errors.ts";

/** The default addresses: the cluster `npm start` runs. */
export const defaultAddresses = "http://127.0.0.1:7001,http://127.0.0.1:7002,http://127.0.0.1:7003";
export const defaultTimeoutMs = 10_000;

export interface OutputStream {
  write(chunk: string | Uint8Array): boolean;
  isTTY?: boolean;
  columns?: number;
}

/** The process around the CLI, injected so that main.ts alone touches `process`. */
export interface Io {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: AsyncIterable<Uint8Array | string>;
  env: Record<string, string | undefined>;
  /** Fires on Ctrl-C: streaming commands (watch, bench) stop and exit 0. */
  interrupt: AbortSignal;
  /** Milliseconds since the epoch (injected for the leader-watch clock). */
  now: () => number;
}

export interface GlobalOptions {
  address?: string;
  json?: boolean;
  timeout?: number;
  color?: boolean;
  /** PEM files for https:// addresses: the CA to trust, and a client certificate and key (mutual TLS). */
  ca?: string;
  cert?: string;
  key?: string;
  /** Bearer token (--token, CTL_TOKEN), or the file holding it (--token-file, CTL_TOKEN_FILE). */
  token?: string;
  tokenFile?: string;
}

export class Context {
  readonly io: Io;
  readonly addresses: string[];
  readonly json: boolean;
  readonly timeoutMs: number;
  readonly chalk: ChalkInstance;
  private readonly tlsFiles: { ca?: string; cert?: string; key?: string };
  private tls: ClientTls | undefined;
  private readonly tokenSource: { token?: string; tokenFile?: string };
  private token: string | undefined;
  private readonly clients: OmnimetaClient[] = [];

  constructor(options: GlobalOptions, io: Io) {
    this.io = io;
    const raw = options.address ?? io.env.CTL_ADDRESS ?? defaultAddresses;
    this.addresses = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (this.addresses.length === 0) throw new UsageError("--address needs at least one URL");
    this.json = options.json ?? false;
    this.timeoutMs = options.timeout ?? defaultTimeoutMs;
    const color = options.color !== false && io.stdout.isTTY === true && io.env.NO_COLOR === undefined;
    this.chalk = new Chalk({ level: color ? 1 : 0 });
    this.tlsFiles = { ca: options.ca ?? io.env.CTL_CA, cert: options.cert ?? io.env.CTL_CERT, key: options.key ?? io.env.CTL_KEY };
    this.tokenSource = { token: options.token ?? io.env.CTL_TOKEN, tokenFile: options.tokenFile ?? io.env.CTL_TOKEN_FILE };
    if (this.tokenSource.token !== undefined && this.tokenSource.tokenFile !== undefined) throw new UsageError("--token and --token-file exclude each other");
  }

  /** A client over the --address list; "unary" for one-shot commands, "session" for load. */
  client(mode: "unary" | "session" = "unary"): OmnimetaClient {
    try {
      this.tls ??= tlsFromFiles(this.tlsFiles);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    this.token ??= tokenOf(this.tokenSource);
    const client = new OmnimetaClient({ endpoints: this.addresses, timeoutMs: this.timeoutMs, mode, tls: this.tls, ...(this.token !== undefined ? { token: this.token } : {}) });
    this.clients.push(client);
    return client;
  }

  /** Writes the view as JSON when --json, else the human text made by `human`. */
  emit<V>(view: V, human: (view: V) => string): void {
    this.io.stdout.write(this.json ? renderJson(view) : human(view));
  }

  close(): void {
    for (const c of this.clients.splice(0)) c.close();
  }
}

/** The token given, or the first line of the token file; a mistake is a UsageError (exit 2) that never shows the token. */
function tokenOf(source: { token?: string; tokenFile?: string }): string | undefined {
  let token = source.token;
  if (source.tokenFile !== undefined) {
    try {
      token = (readFileSync(source.tokenFile, "utf8").split(/\r?\n/)[0] ?? "").trim();
    } catch (e) {
      throw new UsageError(`cannot read the token file ${source.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (token === "") throw new UsageError(`the token file ${source.tokenFile} is empty`);
  }
  if (token === undefined) return undefined;
  token = token.trim();
  if (!/^[\x21-\x7e]+$/.test(token)) throw new UsageError("the token must be printable ASCII without spaces");
  return token;
}

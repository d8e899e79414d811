// NodeOptions (the embedding API's input) and how `metad` builds them from a JSON config file and flags.
// Flags override the file; every mistake is one readable ConfigError line.

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Limits } from "./limits.ts";
import type { Logger } from "./log.ts";
import type { TlsOptions } from "./tls/tls-credentials.ts";
import type { AuthOptions } from "./auth/access-control.ts";

export interface ListenAddress {
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export interface NodeOptions {
  /** Unique, stable name of this node in the cluster. */
  name: string;
  /** Directory of the SQLite database; created if missing. */
  dataDir: string;
  listen: ListenAddress;
  /** URL peers and clients use to reach this node; default http://<listen host>:<bound port>. */
  advertise?: string;
  /** Members to ask to be added to their cluster when this node has no configuration yet. */
  join?: string[];
  /** Outbound connections to peer address ADDR (host:port) dial VIA (host:port) instead. */
  peerRoutes?: Record<string, string>;
  /** Milliseconds per core tick (default 50). A leader is suspected after one election round
   *  (electionTicks x tickMs = 250 ms by default) without its heartbeat reply; shorter rounds detect a
   *  dead leader sooner but depose a live one whose event loop stalls (GC, load). */
  tickMs?: number;
  /** Ticks per ballot-leader-election round (default 5, the core's). */
  electionTicks?: number;
  limits?: Partial<Limits>;
  /** Serve TLS to clients and mutual TLS to peers (certificates reload on SIGHUP or a file change). */
  tls?: TlsOptions;
  /** Bearer tokens for client and admin calls, and the peer secret (auth/access-control.ts); absent: all open. */
  auth?: AuthOptions;
  /** Structured logger; default JSON lines on stderr. */
  logger?: Logger;
  /** Disaster recovery: start a new single-member cluster from this snapshot file (ctl snapshot save)
   *  in a new, empty data dir. A corrupt, truncated or other-version file is refused. */
  restore?: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** --help: the usage text is the message; print it and exit 0. */
export class HelpRequested extends Error {
  override name = "HelpRequested";
}

/** "host:port" -> ListenAddress. */
export function parseHostPort(s: string, what: string): ListenAddress {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(s.trim());
  if (!m || m[1] === "") throw new ConfigError(`${what}: expected HOST:PORT, got "${s}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new ConfigError(`${what}: port out of range in "${s}"`);
  return { host: m[1], port };
}

/** Accepts "http://host:port", "host:port" -> "host:port" (the key of peer routes). */
export function authorityOf(address: string): string {
  const s = address.trim();
  if (/^[a-z]+:\/\//i.test(s)) {
    const u = new URL(s);
    return u.host;
  }
  return s.replace(/\/+$/, "");
}

/** "host:port" or URL -> a normalised base URL "http://host:port" (`scheme` for a bare host:port). */
export function normaliseUrl(address: string, scheme: "http" | "https" = "http"): string {
  const s = address.trim().replace(/\/+$/, "");
  if (/^[a-z]+:\/\//i.test(s)) {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw new ConfigError(`not a valid address: "${address}"`);
    }
    return `${u.protocol}//${u.host}`;
  }
  parseHostPort(s, "address");
  return `${scheme}://${s}`;
}

export function parsePeerRoute(s: string): [string, string] {
  const eq = s.indexOf("=");
  if (eq <= 0 || eq === s.length - 1) throw new ConfigError(`--peer-route: expected ADDR=VIA, got "${s}"`);
  const from = authorityOf(s.slice(0, eq));
  const via = authorityOf(s.slice(eq + 1));
  parseHostPort(from, "--peer-route ADDR");
  parseHostPort(via, "--peer-route VIA");
  return [from, via];
}

const usage = `usage: metad [--config FILE] --name NAME --data-dir DIR [--listen HOST:PORT] [--advertise URL]
             [--join URL,...] [--peer-route ADDR=VIA ...] [--max-value-bytes N] [--tick-ms N] [--election-ticks N]
             [--compaction-slots N] [--snapshot-offer-hold-ms MS] [--snapshot-send-rate BYTES_PER_S] [--watch-history-revisions N] [--tls-cert FILE --tls-key FILE --tls-ca FILE [--tls-client-cert-required]]
             [--auth-token-file FILE] [--admin-token-file FILE] [--peer-secret-file FILE] [--restore SNAPSHOT_FILE]
Authentication: --auth-token-file: clients send "authorization: Bearer <token>" (the file's first line);
  --admin-token-file: Provision, AddMember, RemoveMember and SaveSnapshot need this token instead (it works
  on client calls too); --peer-secret-file: every node-to-node call carries this secret (same file on every
  node; with TLS, in addition to the client certificate). /health, /ready and /metrics stay open.
Environment: OMNIMETA_LOG_LEVEL=debug|info|warn|error; OMNIMETA_UNSAFE=stale-reads,ack-before-fsync,no-dedup (testing only)`;

interface FileConfig {
  name?: string;
  dataDir?: string;
  listen?: string;
  advertise?: string;
  join?: string[] | string;
  peerRoutes?: Record<string, string>;
  tickMs?: number;
  electionTicks?: number;
  maxValueBytes?: number;
  limits?: Partial<Limits>;
  tls?: { cert?: string; key?: string; ca?: string; clientCertRequired?: boolean };
  auth?: { tokenFile?: string; adminTokenFile?: string; peerSecretFile?: string };
}

/** Builds NodeOptions from argv (without node and script); throws ConfigError with one line. */
export function parseCommandLine(argv: string[]): NodeOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string" },
        name: { type: "string" },
        "data-dir": { type: "string" },
        listen: { type: "string" },
        advertise: { type: "string" },
        join: { type: "string", multiple: true },
        "peer-route": { type: "string", multiple: true },
        "max-value-bytes": { type: "string" },
        "tick-ms": { type: "string" },
        "election-ticks": { type: "string" },
        "compaction-slots": { type: "string" },
        "snapshot-offer-hold-ms": { type: "string" },
        "snapshot-send-rate": { type: "string" },
        "watch-history-revisions": { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "tls-ca": { type: "string" },
        "tls-client-cert-required": { type: "boolean" },
        "auth-token-file": { type: "string" },
        "admin-token-file": { type: "string" },
        "peer-secret-file": { type: "string" },
        restore: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\n${usage}`);
  }
  const v = parsed.values;
  if (v.help) throw new HelpRequested(usage);
  const file: FileConfig = v.config !== undefined ? readConfigFile(v.config) : {};
  const name = v.name ?? file.name;
  const dataDir = v["data-dir"] ?? file.dataDir;
  if (!name) throw new ConfigError(`missing --name (or "name" in the config file)\n${usage}`);
  if (!dataDir) throw new ConfigError(`missing --data-dir (or "dataDir" in the config file)\n${usage}`);
  const tls = tlsOptionsOf(v, file.tls);
  const auth = authOptionsOf(v, file.auth);
  const scheme = tls ? "https" : "http";
  const joinList = v.join ?? (file.join === undefined ? [] : Array.isArray(file.join) ? file.join : [file.join]);
  const join = joinList.flatMap((j) => j.split(",")).map((j) => j.trim()).filter((j) => j !== "").map((j) => normaliseUrl(j, scheme));
  if (v.restore !== undefined && join.length > 0) throw new ConfigError("--restore starts a new cluster from the snapshot and cannot be combined with --join (start the other nodes with --join to the restored one)");
  const peerRoutes: Record<string, string> = {};
  for (const [from, via] of Object.entries(file.peerRoutes ?? {})) peerRoutes[authorityOf(from)] = authorityOf(via);
  for (const r of v["peer-route"] ?? []) {
    const [from, via] = parsePeerRoute(r);
    peerRoutes[from] = via;
  }
  const limits: Partial<Limits> = { ...file.limits };
  const maxValue = v["max-value-bytes"] !== undefined ? positiveInt(v["max-value-bytes"], "--max-value-bytes") : file.maxValueBytes;
  if (maxValue !== undefined) limits.valueBytesMax = maxValue;
  if (v["compaction-slots"] !== undefined) limits.compactionSlots = positiveInt(v["compaction-slots"], "--compaction-slots");
  if (v["snapshot-offer-hold-ms"] !== undefined) limits.snapshotOfferHoldMs = positiveInt(v["snapshot-offer-hold-ms"], "--snapshot-offer-hold-ms");
  if (v["snapshot-send-rate"] !== undefined) limits.snapshotSendBytesPerSecond = positiveInt(v["snapshot-send-rate"], "--snapshot-send-rate");
  if (v["watch-history-revisions"] !== undefined) limits.watchHistoryRevisions = positiveInt(v["watch-history-revisions"], "--watch-history-revisions");
  const tickMs = v["tick-ms"] !== undefined ? positiveInt(v["tick-ms"], "--tick-ms") : file.tickMs;
  const electionTicks = v["election-ticks"] !== undefined ? positiveInt(v["election-ticks"], "--election-ticks") : file.electionTicks;
  return {
    name,
    dataDir,
    listen: parseHostPort(v.listen ?? file.listen ?? "127.0.0.1:7001", "--listen"),
    advertise: v.advertise ?? file.advertise ? normaliseUrl((v.advertise ?? file.advertise)!, scheme) : undefined,
    join,
    peerRoutes,
    tickMs,
    electionTicks,
    limits,
    ...(tls ? { tls } : {}),
    ...(auth ? { auth } : {}),
    ...(v.restore !== undefined ? { restore: v.restore } : {}),
  };
}

/** --tls-* flags over the file's "tls" object: all of cert, key and CA, or none of them. */
function tlsOptionsOf(v: Record<string, string | boolean | string[] | undefined>, file: FileConfig["tls"]): TlsOptions | undefined {
  const pick = (flag: string, field: "cert" | "key" | "ca"): string | undefined => (v[flag] as string | undefined) ?? file?.[field];
  const certFile = pick("tls-cert", "cert");
  const keyFile = pick("tls-key", "key");
  const caFile = pick("tls-ca", "ca");
  const clientCertRequired = (v["tls-client-cert-required"] as boolean | undefined) ?? file?.clientCertRequired ?? false;
  if (certFile === undefined && keyFile === undefined && caFile === undefined) {
    if (clientCertRequired) throw new ConfigError("--tls-client-cert-required needs --tls-cert, --tls-key and --tls-ca");
    return undefined;
  }
  if (!certFile || !keyFile || !caFile) {
    throw new ConfigError("TLS needs all of --tls-cert, --tls-key and --tls-ca (or cert, key and ca in the config file's \"tls\")");
  }
  return { certFile, keyFile, caFile, clientCertRequired };
}

/** --auth-token-file, --admin-token-file, --peer-secret-file over the file's "auth" object: each file's first line. */
function authOptionsOf(v: Record<string, string | boolean | string[] | undefined>, file: FileConfig["auth"]): AuthOptions | undefined {
  const secretOf = (flag: string, field: "tokenFile" | "adminTokenFile" | "peerSecretFile"): string | undefined => {
    const path = (v[flag] as string | undefined) ?? file?.[field];
    return path === undefined ? undefined : readSecretFile(path, `--${flag}`);
  };
  const token = secretOf("auth-token-file", "tokenFile");
  const adminToken = secretOf("admin-token-file", "adminTokenFile");
  const peerSecret = secretOf("peer-secret-file", "peerSecretFile");
  if (token === undefined && adminToken === undefined && peerSecret === undefined) return undefined;
  if (token !== undefined && token === adminToken) throw new ConfigError("--admin-token-file must hold another token than --auth-token-file");
  return { ...(token !== undefined ? { token } : {}), ...(adminToken !== undefined ? { adminToken } : {}), ...(peerSecret !== undefined ? { peerSecret } : {}) };
}

/** A token or secret: the file's first line, trimmed; the message never carries the file's content. */
function readSecretFile(path: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const secret = (text.split(/\r?\n/)[0] ?? "").trim();
  if (secret === "") throw new ConfigError(`${flag}: ${path} is empty (it must hold the token on its first line)`);
  if (!/^[\x21-\x7e]+$/.test(secret)) throw new ConfigError(`${flag}: ${path} holds characters a header cannot carry (printable ASCII only, no spaces)`);
  if (secret.length < 16) throw new ConfigError(`${flag}: ${path} holds fewer than 16 characters; use a longer, random token (e.g. openssl rand -hex 32)`);
  return secret;
}

function readConfigFile(path: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not a JSON object");
    return value as FileConfig;
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function positiveInt(s: string, flag: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${flag}: expected a positive integer, got "${s}"`);
  return n;
}

// Structured logging: one JSON object per line on stderr ({"ts","level","node","msg",...fields}), or, when
// stderr is a terminal, the same fields as one readable line ("12:00:01.234 INFO  n1 leader leaderId=2").
// OMNIMETA_LOG_FORMAT=json|text overrides the choice. The Logger interface is what embedders pass in NodeOptions.logger to capture or silence logs.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function parseLogLevel(s: string | undefined): LogLevel {
  if (s === "debug" || s === "info" || s === "warn" || s === "error") return s;
  return "info";
}

export type LogFormat = "json" | "text";

/** JSON unless stderr is a terminal (or OMNIMETA_LOG_FORMAT says otherwise). */
export function defaultLogFormat(): LogFormat {
  const f = process.env.OMNIMETA_LOG_FORMAT;
  if (f === "json" || f === "text") return f;
  return process.stderr.isTTY ? "text" : "json";
}

/** A logger writing JSON lines (or readable lines, format "text") to `write` (default: stderr). */
export function createJsonLogger(
  options: { level?: LogLevel; fields?: LogFields; write?: (line: string) => void; format?: LogFormat } = {},
): Logger {
  const min = levelRank[options.level ?? parseLogLevel(process.env.OMNIMETA_LOG_LEVEL)];
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const base = options.fields ?? {};
  const format = options.format ?? (options.write === undefined ? defaultLogFormat() : "json");
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (levelRank[level] < min) return;
    const ts = new Date().toISOString();
    if (format === "text") return write(textLine(ts, level, base, msg, fields) + "\n");
    const line = { ts, level, ...base, msg, ...fields };
    write(JSON.stringify(line, jsonReplacer) + "\n");
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createJsonLogger({ level: levelName(min), fields: { ...base, ...fields }, write, format }),
  };
}

/** A logger that drops everything (tests, embedding). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

function levelName(rank: number): LogLevel {
  return (Object.keys(levelRank) as LogLevel[]).find((l) => levelRank[l] === rank) ?? "info";
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return value.message;
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  return value;
}

/** "12:00:01.234 INFO  n1 msg key=value ..." (time of day UTC; the node name unlabelled; strings with spaces quoted). */
export function textLine(ts: string, level: LogLevel, base: LogFields, msg: string, fields: LogFields | undefined): string {
  const { node, ...rest } = { ...base, ...fields };
  const parts = [ts.slice(11, 23), level.toUpperCase().padEnd(5)];
  if (node !== undefined) parts.push(String(node));
  parts.push(msg);
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined) continue;
    const j = jsonReplacer(k, v);
    const text = typeof j === "string" ? (/[\s"=]/.test(j) || j === "" ? JSON.stringify(j) : j) : JSON.stringify(j, jsonReplacer);
    parts.push(`${k}=${text}`);
  }
  return parts.join(" ");
}

// Structured logging: one JSON object per line on stderr ({"ts","level","node","msg",...fields}).
// The Logger interface is what embedders pass in NodeOptions.logger to capture or silence logs.

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

/** A logger writing JSON lines to `write` (default: stderr). */
export function createJsonLogger(
  options: { level?: LogLevel; fields?: LogFields; write?: (line: string) => void } = {},
): Logger {
  const min = levelRank[options.level ?? parseLogLevel(process.env.OMNIMETA_LOG_LEVEL)];
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const base = options.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (levelRank[level] < min) return;
    const line = { ts: new Date().toISOString(), level, ...base, msg, ...fields };
    write(JSON.stringify(line, jsonReplacer) + "\n");
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createJsonLogger({ level: levelName(min), fields: { ...base, ...fields }, write }),
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

// Structured logs: one JSON object per line on stdout, the platform's
// shape: time, level, msg, service, plus trace_id and span_id while a span
// is active (so searching the logs for a trace id finds the request's
// lines). Extra fields come after those and never replace them.
// It never buffers (a crash loses no line) and never writes a file: the
// platform collects stdout.

import { activeSpan } from "./tracing.js";

export type Level = "debug" | "info" | "warn" | "error";

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** The level named by LOG_LEVEL ("warning" is accepted for "warn"). */
export function parseLevel(value: string): Level | undefined {
  const v = value.trim().toLowerCase();
  if (v === "warning") return "warn";
  return v in ORDER ? (v as Level) : undefined;
}

export type Fields = Record<string, unknown>;

export interface LoggerOptions {
  service: string;
  level: Level;
  /** Where a line goes (without its newline); stdout by default. */
  write?: (line: string) => void;
}

const CORE = new Set(["time", "level", "msg", "service"]);

export class Logger {
  readonly #service: string;
  readonly #min: number;
  readonly #write: (line: string) => void;

  constructor(opts: LoggerOptions) {
    this.#service = opts.service;
    this.#min = ORDER[opts.level];
    this.#write = opts.write ?? ((line) => process.stdout.write(line + "\n"));
  }

  debug(msg: string, fields?: Fields): void {
    this.log("debug", msg, fields);
  }

  info(msg: string, fields?: Fields): void {
    this.log("info", msg, fields);
  }

  warn(msg: string, fields?: Fields): void {
    this.log("warn", msg, fields);
  }

  error(msg: string, fields?: Fields): void {
    this.log("error", msg, fields);
  }

  log(level: Level, msg: string, fields?: Fields): void {
    if (ORDER[level] < this.#min) return;
    const line: Fields = {
      time: new Date().toISOString(),
      level,
      msg,
      service: this.#service,
    };
    const span = activeSpan();
    if (span !== undefined) {
      line.trace_id = span.context.traceId;
      line.span_id = span.context.spanId;
    }
    for (const [key, value] of Object.entries(fields ?? {})) {
      if (!CORE.has(key)) line[key] = value;
    }
    this.#write(JSON.stringify(line, jsonValue));
  }
}

// Errors as their name, message and stack (JSON.stringify would give {}),
// bigints as strings (it would throw).
function jsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

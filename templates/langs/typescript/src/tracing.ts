// Tracing: W3C Trace Context propagation and OpenTelemetry-shaped spans,
// without dependencies (the same model as the platform's Go and Python
// services, so one trace crosses all three):
// - an incoming `traceparent` (W3C Trace Context: `00-<32 hex trace id>-
//   <16 hex parent id>-<2 hex flags>`) is continued: the request's span
//   has the caller's trace id and the caller's span as its parent; a
//   missing, malformed or all-zero one starts a new trace;
// - one span per request or job, active for the code it runs
//   (AsyncLocalStorage, so concurrent requests never mix);
// - outgoing HTTP requests carry the active span's trace: tracedFetch()
//   for fetch, inject() for node:http or any other client;
// - logs carry trace_id and span_id (log.ts reads activeSpan());
// - finished spans are exported as JSON log lines ({"msg":"span",...}),
//   each span in OTLP/JSON's shape.
//
// OTLP: when OTEL_EXPORTER_OTLP_ENDPOINT is set, spans still go to the
// log. The upgrade path is an exporter (a SpanExporter function) that
// batches span.toOtlp() objects into OTLP/HTTP JSON ({"resourceSpans":
// [{"resource": {...service.name...}, "scopeSpans": [{"spans": [...]}]}]})
// and POSTs them to <endpoint>/v1/traces; or the OpenTelemetry SDK
// (@opentelemetry/sdk-trace-node) with its W3CTraceContextPropagator,
// which reads and writes the same header.
//
// Never throws on a bad header, never sends spans anywhere by itself.

import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

export interface SpanContext {
  traceId: string; // 32 lowercase hex, not all zero
  spanId: string; // 16 lowercase hex, not all zero
  sampled: boolean; // the caller recorded its span: record ours too
  traceState?: string; // the vendors' `tracestate`, passed on unchanged
}

const HEX2 = /^[0-9a-f]{2}$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZEROS = /^0+$/;
// tracestate is at most 32 list members of at most 256 characters; longer
// means broken or hostile: drop it rather than pass it on
const MAX_TRACESTATE = 32 * 257;

/** The span context of a `traceparent` header, or undefined when it is
 * missing or invalid (the caller then starts a new trace). */
export function parseTraceparent(
  value: string | string[] | undefined,
  traceState?: string | string[],
): SpanContext | undefined {
  // a header sent twice arrives as an array or joined with ", ": invalid
  if (typeof value !== "string") return undefined;
  const parts = value.trim().split("-");
  const [version, traceId, spanId, flags] = parts;
  if (version === undefined || traceId === undefined || spanId === undefined || flags === undefined) {
    return undefined;
  }
  if (!HEX2.test(version) || version === "ff") return undefined;
  // version 00 has exactly four fields; a later version may append more,
  // which this version does not read
  if (version === "00" && parts.length !== 4) return undefined;
  if (!TRACE_ID.test(traceId) || ZEROS.test(traceId)) return undefined;
  if (!SPAN_ID.test(spanId) || ZEROS.test(spanId)) return undefined;
  if (!HEX2.test(flags)) return undefined;
  const ctx: SpanContext = {
    traceId,
    spanId,
    sampled: (parseInt(flags, 16) & 1) === 1,
  };
  const state = Array.isArray(traceState) ? traceState.join(",") : traceState;
  if (state !== undefined && state.trim() !== "" && state.length <= MAX_TRACESTATE) {
    ctx.traceState = state.trim();
  }
  return ctx;
}

/** The `traceparent` header that makes ctx the parent of the next hop. */
export function formatTraceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? "01" : "00"}`;
}

function newId(bytes: number): string {
  for (;;) {
    const id = randomBytes(bytes).toString("hex");
    if (!ZEROS.test(id)) return id; // all zero is the invalid id
  }
}

export type SpanKind = "internal" | "server" | "client" | "producer" | "consumer";
export type AttributeValue = string | number | boolean;

// OTLP's SpanKind numbers
const KIND: Record<SpanKind, number> = {
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};

/** What an exporter receives: a finished span. */
export type SpanExporter = (span: Span) => void;

export class Span {
  readonly name: string;
  readonly kind: SpanKind;
  readonly context: SpanContext;
  readonly parentSpanId: string | undefined;
  readonly attributes: Record<string, AttributeValue> = {};
  readonly startNs: bigint;
  endNs: bigint | undefined;
  error: string | undefined;
  readonly #exporter: SpanExporter;

  constructor(
    name: string,
    kind: SpanKind,
    context: SpanContext,
    parentSpanId: string | undefined,
    exporter: SpanExporter,
  ) {
    this.name = name;
    this.kind = kind;
    this.context = context;
    this.parentSpanId = parentSpanId;
    this.#exporter = exporter;
    this.startNs = nowNs();
  }

  setAttribute(key: string, value: AttributeValue): this {
    this.attributes[key] = value;
    return this;
  }

  /** Marks the span failed (OTLP status ERROR) with the error's message. */
  setError(err: unknown): this {
    this.error = err instanceof Error ? err.message : String(err);
    return this;
  }

  get durationSeconds(): number {
    return Number((this.endNs ?? nowNs()) - this.startNs) / 1e9;
  }

  /** Ends the span once; a sampled span is then exported. */
  end(): void {
    if (this.endNs !== undefined) return;
    this.endNs = nowNs();
    if (this.context.sampled) this.#exporter(this);
  }

  /** The span as OTLP/JSON's Span message (ids as hex, times as strings
   * of nanoseconds since the epoch). */
  toOtlp(): Record<string, unknown> {
    const attributes = Object.entries(this.attributes).map(([key, v]) => ({
      key,
      value:
        typeof v === "boolean"
          ? { boolValue: v }
          : typeof v === "number"
            ? Number.isInteger(v)
              ? { intValue: String(v) }
              : { doubleValue: v }
            : { stringValue: v },
    }));
    const out: Record<string, unknown> = {
      traceId: this.context.traceId,
      spanId: this.context.spanId,
      name: this.name,
      kind: KIND[this.kind],
      startTimeUnixNano: String(this.startNs),
      endTimeUnixNano: String(this.endNs ?? nowNs()),
      attributes,
      // STATUS_CODE_ERROR 2, STATUS_CODE_UNSET 0
      status: this.error !== undefined ? { code: 2, message: this.error } : { code: 0 },
    };
    if (this.parentSpanId !== undefined) out.parentSpanId = this.parentSpanId;
    if (this.context.traceState !== undefined) out.traceState = this.context.traceState;
    return out;
  }
}

// wall-clock nanoseconds that never go backwards within the process
const originNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
function nowNs(): bigint {
  return originNs + process.hrtime.bigint();
}

// The active span of the running code. One per process, like
// OpenTelemetry's context manager: it holds no data of its own, each
// asynchronous call chain sees the span it was started in.
const active = new AsyncLocalStorage<Span>();

/** The span of the request or job the calling code runs for. */
export function activeSpan(): Span | undefined {
  return active.getStore();
}

export interface StartOptions {
  kind?: SpanKind;
  /** The parent: by default the active span; null starts a new trace. */
  parent?: SpanContext | null;
  attributes?: Record<string, AttributeValue>;
}

type HeaderBag = Record<string, string | string[] | undefined>;

export class Tracer {
  readonly service: string;
  readonly #exporter: SpanExporter;

  constructor(service: string, exporter: SpanExporter) {
    this.service = service;
    this.#exporter = exporter;
  }

  startSpan(name: string, opts: StartOptions = {}): Span {
    const parent = opts.parent === undefined ? activeSpan()?.context : (opts.parent ?? undefined);
    const context: SpanContext =
      parent !== undefined
        ? { traceId: parent.traceId, spanId: newId(8), sampled: parent.sampled }
        : { traceId: newId(16), spanId: newId(8), sampled: true };
    if (parent?.traceState !== undefined) context.traceState = parent.traceState;
    const span = new Span(name, opts.kind ?? "internal", context, parent?.spanId, this.#exporter);
    for (const [k, v] of Object.entries(opts.attributes ?? {})) span.setAttribute(k, v);
    return span;
  }

  /** A span continuing the trace of incoming headers (an HTTP request's,
   * a message's): a new trace when they carry no valid traceparent. */
  startFromHeaders(name: string, headers: HeaderBag, kind: SpanKind = "server"): Span {
    const parent = parseTraceparent(headers["traceparent"], headers["tracestate"]);
    return this.startSpan(name, { kind, parent: parent ?? null });
  }

  /** Runs fn with span active (its logs and outgoing calls carry it). */
  withSpan<T>(span: Span, fn: () => T): T {
    return active.run(span, fn);
  }

  /** Puts the trace of span (by default the active one) on outgoing
   * headers: a Headers object or a plain object for node:http. */
  inject(headers: Headers | Record<string, string>, span: Span | undefined = activeSpan()): void {
    if (span === undefined) return;
    const set = (k: string, v: string): void => {
      if (headers instanceof Headers) headers.set(k, v);
      else headers[k] = v;
    };
    set("traceparent", formatTraceparent(span.context));
    if (span.context.traceState !== undefined) set("tracestate", span.context.traceState);
  }
}

/** fetch() with a client span, child of the active span, whose trace the
 * request carries in `traceparent`: the next service continues it. */
export async function tracedFetch(
  tracer: Tracer,
  input: string | URL,
  init: RequestInit = {},
): Promise<Response> {
  const url = new URL(input);
  const method = (init.method ?? "GET").toUpperCase();
  const span = tracer.startSpan(method, {
    kind: "client",
    attributes: {
      "http.request.method": method,
      "server.address": url.hostname,
      // the path only: a query string can hold personal data
      "url.path": url.pathname,
    },
  });
  const headers = new Headers(init.headers);
  tracer.inject(headers, span);
  try {
    const res = await fetch(url, { ...init, headers });
    span.setAttribute("http.response.status_code", res.status);
    if (res.status >= 500) span.setError(`HTTP ${res.status}`);
    return res;
  } catch (err) {
    span.setError(err);
    throw err;
  } finally {
    span.end();
  }
}

/** The exporter that writes each finished span as a JSON log line. */
export function logSpanExporter(log: {
  info(msg: string, fields?: Record<string, unknown>): void;
}): SpanExporter {
  return (span) =>
    log.info("span", {
      trace_id: span.context.traceId,
      span_id: span.context.spanId,
      name: span.name,
      duration_ms: Math.round(span.durationSeconds * 1e6) / 1e3,
      span: span.toOtlp(),
    });
}

// W3C Trace Context: parsing, and propagation from an incoming request
// to an outgoing one (same trace id, a new parent id).

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatTraceparent,
  logSpanExporter,
  parseTraceparent,
  tracedFetch,
  Tracer,
  type Span,
} from "../src/tracing.js";
import { captureLog, recorder, start, stop } from "./helpers.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const INCOMING = `00-${TRACE}-${PARENT}-01`;

function tracer(): { tracer: Tracer; spans: Span[] } {
  const spans: Span[] = [];
  return { tracer: new Tracer("test", (s) => spans.push(s)), spans };
}

test("a valid traceparent parses", () => {
  assert.deepEqual(parseTraceparent(INCOMING), { traceId: TRACE, spanId: PARENT, sampled: true });
  assert.equal(parseTraceparent(`00-${TRACE}-${PARENT}-00`)?.sampled, false);
  // a later version may add fields after the four it shares with 00
  assert.equal(parseTraceparent(`01-${TRACE}-${PARENT}-01-what-comes-next`)?.traceId, TRACE);
  assert.equal(parseTraceparent(INCOMING, "vendor=abc")?.traceState, "vendor=abc");
});

test("an invalid traceparent is rejected", () => {
  for (const bad of [
    undefined,
    "",
    "garbage",
    `00-${TRACE}-${PARENT}`, // no flags
    `00-${TRACE}-${PARENT}-01-extra`, // version 00 has four fields
    `ff-${TRACE}-${PARENT}-01`, // version ff is invalid
    `00-${"0".repeat(32)}-${PARENT}-01`, // all-zero trace id
    `00-${TRACE}-${"0".repeat(16)}-01`, // all-zero parent id
    `00-${TRACE.toUpperCase()}-${PARENT}-01`, // upper case
    `00-${TRACE.slice(1)}-${PARENT}-01`, // short trace id
    `00-${TRACE}-${PARENT}x-01`, // long parent id
    `00-${TRACE}-${PARENT}-0g`, // flags not hex
    `${INCOMING}, ${INCOMING}`, // sent twice, joined
  ]) {
    assert.equal(parseTraceparent(bad), undefined, String(bad));
  }
  assert.equal(parseTraceparent([INCOMING, INCOMING]), undefined);
});

test("formatTraceparent writes version 00", () => {
  assert.equal(formatTraceparent({ traceId: TRACE, spanId: PARENT, sampled: true }), INCOMING);
  assert.equal(formatTraceparent({ traceId: TRACE, spanId: PARENT, sampled: false }), `00-${TRACE}-${PARENT}-00`);
});

test("a span continues the incoming trace with a new span id", () => {
  const { tracer: t } = tracer();
  const span = t.startFromHeaders("GET /x", { traceparent: INCOMING, tracestate: "a=1" });
  assert.equal(span.context.traceId, TRACE);
  assert.equal(span.parentSpanId, PARENT);
  assert.match(span.context.spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(span.context.spanId, PARENT);
  assert.equal(span.context.traceState, "a=1");
});

test("an invalid or missing traceparent starts a new trace", () => {
  const { tracer: t } = tracer();
  for (const headers of [{}, { traceparent: `00-${"0".repeat(32)}-${PARENT}-01` }, { traceparent: "nonsense" }]) {
    const span = t.startFromHeaders("GET /x", headers);
    assert.match(span.context.traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(span.context.traceId, TRACE);
    assert.notEqual(span.context.traceId, "0".repeat(32));
    assert.equal(span.parentSpanId, undefined);
    assert.equal(span.context.sampled, true);
  }
  const a = t.startFromHeaders("a", {});
  const b = t.startFromHeaders("b", {});
  assert.notEqual(a.context.traceId, b.context.traceId);
});

test("incoming traceparent -> outgoing request: same trace id, new parent id", async () => {
  const { server, seen } = recorder();
  const base = await start(server);
  const { tracer: t, spans } = tracer();
  try {
    const incoming = t.startFromHeaders("GET /hello", { traceparent: INCOMING, tracestate: "vendor=abc" });
    await t.withSpan(incoming, async () => {
      const res = await tracedFetch(t, `${base}/downstream?q=1`);
      assert.equal(res.status, 200);
      await res.text();
    });
    incoming.end();
  } finally {
    await stop(server);
  }
  assert.equal(seen.length, 1);
  const out = parseTraceparent(seen[0]?.traceparent);
  assert.ok(out, `outgoing traceparent ${String(seen[0]?.traceparent)}`);
  assert.equal(out.traceId, TRACE, "the trace id is carried on");
  assert.notEqual(out.spanId, PARENT, "the parent id is the new client span's");
  assert.equal(seen[0]?.tracestate, "vendor=abc");
  // spans: the client span (child of the server span), then the server
  // span (child of the caller's)
  const [client, serverSpan] = spans;
  assert.ok(client && serverSpan);
  assert.equal(client.kind, "client");
  assert.equal(out.spanId, client.context.spanId);
  assert.equal(client.parentSpanId, serverSpan.context.spanId);
  assert.equal(serverSpan.parentSpanId, PARENT);
  assert.equal(client.attributes["url.path"], "/downstream");
  assert.equal(client.attributes["http.response.status_code"], 200);
});

test("inject() writes the active span's traceparent for node:http", () => {
  const { tracer: t } = tracer();
  const span = t.startFromHeaders("job", { traceparent: INCOMING });
  const headers: Record<string, string> = {};
  t.inject(headers); // no active span: nothing
  assert.deepEqual(headers, {});
  t.withSpan(span, () => t.inject(headers));
  assert.equal(headers.traceparent, `00-${TRACE}-${span.context.spanId}-01`);
});

test("an unsampled trace propagates but exports nothing", () => {
  const { tracer: t, spans } = tracer();
  const span = t.startFromHeaders("GET /x", { traceparent: `00-${TRACE}-${PARENT}-00` });
  span.end();
  assert.equal(spans.length, 0);
  const headers: Record<string, string> = {};
  t.inject(headers, span);
  assert.equal(headers.traceparent, `00-${TRACE}-${span.context.spanId}-00`);
});

test("logs inside a span carry its trace_id and span_id; spans export as log lines", () => {
  const { log, lines } = captureLog();
  const t = new Tracer("test", logSpanExporter(log));
  const span = t.startFromHeaders("GET /x", { traceparent: INCOMING });
  t.withSpan(span, () => log.info("inside"));
  log.info("outside");
  span.setError(new Error("boom"));
  span.end();
  span.end(); // once only
  assert.equal(lines.length, 3);
  assert.equal(lines[0]?.trace_id, TRACE);
  assert.equal(lines[0]?.span_id, span.context.spanId);
  assert.equal(lines[1]?.trace_id, undefined);
  assert.equal(lines[2]?.msg, "span");
  assert.equal(lines[2]?.trace_id, TRACE);
  assert.equal(lines[2]?.span_id, span.context.spanId);
  const otlp = lines[2]?.span as Record<string, unknown>;
  assert.equal(otlp.traceId, TRACE);
  assert.equal(otlp.parentSpanId, PARENT);
  assert.equal(otlp.kind, 2);
  assert.deepEqual(otlp.status, { code: 2, message: "boom" });
});

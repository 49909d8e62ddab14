{{^cron}}
// The HTTP server: liveness and readiness semantics, /metrics{{#api}}, /hello{{/api}}
// and the trace of a request.

import assert from "node:assert/strict";
import type * as http from "node:http";
import { test } from "node:test";
import { loadConfig } from "../src/config.js";
import { Registry } from "../src/metrics.js";
import { Readiness } from "../src/readiness.js";
import { createServer, httpMetrics } from "../src/server.js";
import { startUp } from "../src/startup.js";
import { logSpanExporter, Tracer } from "../src/tracing.js";
{{#worker}}
import { MemorySource, workerMetrics } from "../src/worker.js";
{{/worker}}
import { captureLog, start, stop, type Line } from "./helpers.js";

interface Service {
  base: string;
  server: http.Server;
  readiness: Readiness;
  lines: Line[];
  log: ReturnType<typeof captureLog>["log"];
}

async function service(): Promise<Service> {
  const { log, lines } = captureLog();
  const registry = new Registry();
  const readiness = new Readiness();
{{#worker}}
  workerMetrics(registry);
{{/worker}}
  const server = createServer({
    log,
    tracer: new Tracer("test", logSpanExporter(log)),
    registry,
    http: httpMetrics(registry),
    readiness,
  });
  return { base: await start(server), server, readiness, lines, log };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") ?? "" };
}

test("/healthz is 200 while not ready; /readyz is 503 until start-up is done", async () => {
  const s = await service();
  try {
    assert.equal((await get(`${s.base}/healthz`)).status, 200);
    const before = await get(`${s.base}/readyz`);
    assert.equal(before.status, 503);
    assert.equal(JSON.parse(before.body).phase, "starting");
    s.readiness.markReady();
    assert.equal((await get(`${s.base}/readyz`)).status, 200);
    s.readiness.markStopping();
    assert.equal((await get(`${s.base}/readyz`)).status, 503);
    assert.equal((await get(`${s.base}/healthz`)).status, 200, "liveness never follows readiness");
  } finally {
    await stop(s.server);
  }
});

{{#db}}
test("with a database: not ready without DATABASE_URL, and alive all the same", async () => {
  const s = await service();
  try {
    let migrated = false;
    const ready = await startUp({
      config: loadConfig({}),
      log: s.log,
      readiness: s.readiness,
      signal: new AbortController().signal,
      migrate: async () => {
        migrated = true;
      },
{{#worker}}
      source: new MemorySource(),
{{/worker}}
    });
    assert.equal(ready, false);
    assert.equal(migrated, false);
    const r = await get(`${s.base}/readyz`);
    assert.equal(r.status, 503);
    assert.match(JSON.parse(r.body).reason, /DATABASE_URL is not set/);
    assert.equal((await get(`${s.base}/healthz`)).status, 200);
    assert.ok(s.lines.some((l) => l.level === "error" && /DATABASE_URL/.test(String(l.msg))));
  } finally {
    await stop(s.server);
  }
});

test("with a database: 503 during the migrate phase, a failed migration retried, 200 after", async () => {
  const s = await service();
  try {
    const url = "postgres://db.internal:5432/app";
    let tries = 0;
    let finish: () => void = () => {};
    const done = startUp({
      config: loadConfig({ DATABASE_URL: url }),
      log: s.log,
      readiness: s.readiness,
      signal: new AbortController().signal,
      retryMs: 10,
      migrate: (got) => {
        assert.equal(got, url);
        tries += 1;
        if (tries === 1) return Promise.reject(new Error("connection refused"));
        return new Promise<void>((resolve) => (finish = resolve));
      },
{{#worker}}
      source: new MemorySource(),
{{/worker}}
    });
    while (tries < 2) await new Promise((r) => setTimeout(r, 5));
    const during = await get(`${s.base}/readyz`);
    assert.equal(during.status, 503);
    assert.equal(JSON.parse(during.body).phase, "migrate");
    assert.equal((await get(`${s.base}/healthz`)).status, 200, "liveness is fine during a migration");
    finish();
    assert.equal(await done, true);
    assert.equal((await get(`${s.base}/readyz`)).status, 200);
    assert.ok(s.lines.some((l) => l.msg === "migration failed: retrying"));
  } finally {
    await stop(s.server);
  }
});

test("with a database: shutdown stops the retries", async () => {
  const s = await service();
  try {
    const stopping = new AbortController();
    const done = startUp({
      config: loadConfig({ DATABASE_URL: "postgres://db.internal:5432/app" }),
      log: s.log,
      readiness: s.readiness,
      signal: stopping.signal,
      retryMs: 60_000,
      migrate: () => Promise.reject(new Error("no database")),
{{#worker}}
      source: new MemorySource(),
{{/worker}}
    });
    await new Promise((r) => setTimeout(r, 20));
    stopping.abort();
    assert.equal(await done, false);
    assert.equal((await get(`${s.base}/readyz`)).status, 503);
  } finally {
    await stop(s.server);
  }
});
{{/db}}
{{^db}}
test("start-up marks the service ready", async () => {
  const s = await service();
  try {
    assert.equal((await get(`${s.base}/readyz`)).status, 503);
    const ready = await startUp({
      config: loadConfig({}),
      log: s.log,
      readiness: s.readiness,
      signal: new AbortController().signal,
{{#worker}}
      source: new MemorySource(),
{{/worker}}
    });
    assert.equal(ready, true);
    assert.equal((await get(`${s.base}/readyz`)).status, 200);
  } finally {
    await stop(s.server);
  }
});
{{/db}}

{{#api}}
test("GET /hello greets, by name or the world; rejects a name too long", async () => {
  const s = await service();
  try {
    const world = await get(`${s.base}/hello`);
    assert.equal(world.status, 200);
    assert.match(world.type, /^application\/json/);
    assert.deepEqual(JSON.parse(world.body), { message: "Hello, world!" });
    const ada = await get(`${s.base}/hello?name=${encodeURIComponent("Ada Lovelace")}`);
    assert.deepEqual(JSON.parse(ada.body), { message: "Hello, Ada Lovelace!" });
    assert.equal((await get(`${s.base}/hello?name=${"x".repeat(101)}`)).status, 400);
    const post = await fetch(`${s.base}/hello`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal((await get(`${s.base}/nope`)).status, 404);
  } finally {
    await stop(s.server);
  }
});

test("/metrics has the platform's metric names, counted per route and code", async () => {
  const s = await service();
  try {
    await get(`${s.base}/hello`);
    await get(`${s.base}/hello?name=${"x".repeat(101)}`);
    await get(`${s.base}/healthz`); // probes are not counted
    await get(`${s.base}/no/such/${"path"}`); // unknown paths share one label
    const m = await get(`${s.base}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.type, /^text\/plain; version=0\.0\.4/);
    assert.match(m.body, /^# TYPE http_requests_total counter$/m);
    assert.match(m.body, /^http_requests_total\{route="\/hello",method="GET",code="200"\} 1$/m);
    assert.match(m.body, /^http_requests_total\{route="\/hello",method="GET",code="400"\} 1$/m);
    assert.match(m.body, /^# TYPE http_request_duration_seconds histogram$/m);
    assert.match(m.body, /^http_request_duration_seconds_bucket\{route="\/hello",le="0\.5"\} 2$/m);
    assert.match(m.body, /^http_request_duration_seconds_count\{route="\/hello"\} 2$/m);
    assert.match(m.body, /^http_requests_total\{route="other",method="GET",code="404"\} 1$/m);
    assert.doesNotMatch(m.body, /route="\/healthz"/);
  } finally {
    await stop(s.server);
  }
});

test("a request continues the caller's trace: its logs and span carry the trace id", async () => {
  const s = await service();
  const trace = "0af7651916cd43dd8448eb211c80319c";
  try {
    await get(`${s.base}/hello?name=trace`, { traceparent: `00-${trace}-b7ad6b7169203331-01` });
    await get(`${s.base}/hello`, { traceparent: "00-bad-b7ad6b7169203331-01" });
  } finally {
    await stop(s.server);
  }
  const spans = s.lines.filter((l) => l.msg === "span");
  assert.equal(spans.length, 2);
  assert.equal(spans[0]?.trace_id, trace);
  assert.equal(spans[0]?.service, "test");
  const otlp = spans[0]?.span as { parentSpanId: string; spanId: string; name: string };
  assert.equal(otlp.parentSpanId, "b7ad6b7169203331");
  assert.notEqual(otlp.spanId, "b7ad6b7169203331");
  assert.equal(otlp.name, "GET /hello");
  // an invalid traceparent: a new trace
  assert.match(String(spans[1]?.trace_id), /^[0-9a-f]{32}$/);
  assert.notEqual(spans[1]?.trace_id, trace);
});
{{/api}}
{{#worker}}
test("/metrics serves the worker's metrics", async () => {
  const s = await service();
  try {
    const m = await get(`${s.base}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.body, /^# TYPE worker_jobs_processed_total counter$/m);
    assert.match(m.body, /^# TYPE worker_queue_depth gauge$/m);
    assert.match(m.body, /^worker_queue_depth 0$/m);
    assert.match(m.body, /^# TYPE worker_job_duration_seconds histogram$/m);
    assert.match(m.body, /^worker_job_duration_seconds_bucket\{le="0\.5"\} 0$/m);
    assert.equal((await get(`${s.base}/nope`)).status, 404);
  } finally {
    await stop(s.server);
  }
});
{{/worker}}
{{/cron}}

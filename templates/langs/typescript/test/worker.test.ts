{{#worker}}
// The worker loop: jobs from a Source, outcomes counted, the producer's
// trace continued, stopping on request.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "../src/metrics.js";
import { logSpanExporter, Tracer } from "../src/tracing.js";
import { MemorySource, processJob, runWorker, workerMetrics, type Job } from "../src/worker.js";
import { captureLog, recorder, start, stop } from "./helpers.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

function job(id: string, body = "{}", headers: Record<string, string> = {}): Job {
  return { id, body, headers };
}

test("processes every job, counts outcomes and times them", async () => {
  const { log, lines } = captureLog();
  const registry = new Registry();
  const metrics = workerMetrics(registry);
  const source = new MemorySource([job("1"), job("2", "fail"), job("3")]);
  source.end();
  const handled: string[] = [];
  await runWorker({
    source,
    handler: async (j) => {
      handled.push(j.id);
      if (j.body === "fail") throw new Error("bad job");
    },
    metrics,
    tracer: new Tracer("test", logSpanExporter(log)),
    log,
    signal: new AbortController().signal,
  });
  assert.deepEqual(handled, ["1", "2", "3"]);
  assert.deepEqual(source.acked, [
    { id: "1", ok: true },
    { id: "2", ok: false },
    { id: "3", ok: true },
  ]);
  assert.equal(metrics.processed.get({ outcome: "ok" }), 2);
  assert.equal(metrics.processed.get({ outcome: "error" }), 1);
  assert.equal(metrics.duration.count(), 3);
  assert.equal(metrics.depth.get(), 0);
  const text = registry.render();
  assert.match(text, /^worker_jobs_processed_total\{outcome="ok"\} 2$/m);
  assert.match(text, /^worker_jobs_processed_total\{outcome="error"\} 1$/m);
  assert.match(text, /^worker_job_duration_seconds_count 3$/m);
  assert.match(text, /^worker_queue_depth 0$/m);
  const failed = lines.find((l) => l.msg === "job failed");
  assert.equal(failed?.job_id, "2");
  assert.match(String(failed?.trace_id), /^[0-9a-f]{32}$/);
});

test("the queue depth gauge follows the source", async () => {
  const { log } = captureLog();
  const metrics = workerMetrics(new Registry());
  const source = new MemorySource([job("1"), job("2"), job("3")]);
  source.end();
  const depths: number[] = [];
  await runWorker({
    source,
    handler: async () => {
      depths.push(metrics.depth.get());
    },
    metrics,
    tracer: new Tracer("test", () => {}),
    log,
    signal: new AbortController().signal,
  });
  assert.deepEqual(depths, [2, 1, 0]);
});

test("a job's traceparent is continued, and carried to the services it calls", async () => {
  const { server, seen } = recorder();
  const base = await start(server);
  const { log, lines } = captureLog();
  const source = new MemorySource([job("1", "{}", { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` })]);
  source.end();
  try {
    await runWorker({
      source,
      handler: async (_j, ctx) => {
        ctx.log.info("calling");
        await (await ctx.fetch(`${base}/next`)).text();
      },
      metrics: workerMetrics(new Registry()),
      tracer: new Tracer("test", logSpanExporter(log)),
      log,
      signal: new AbortController().signal,
    });
  } finally {
    await stop(server);
  }
  assert.equal(lines.find((l) => l.msg === "calling")?.trace_id, TRACE);
  const out = String(seen[0]?.traceparent);
  assert.match(out, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
  assert.ok(!out.includes("00f067aa0ba902b7"), "a new parent id");
});

test("stops when asked, waiting for the job in hand", async () => {
  const { log } = captureLog();
  const source = new MemorySource(); // never ends by itself
  const stopping = new AbortController();
  let finished = false;
  const loop = runWorker({
    source,
    handler: async () => {
      stopping.abort();
      await new Promise((r) => setTimeout(r, 20));
      finished = true;
    },
    metrics: workerMetrics(new Registry()),
    tracer: new Tracer("test", () => {}),
    log,
    signal: stopping.signal,
  });
  source.push(job("1"));
  source.push(job("2"));
  await loop;
  assert.equal(finished, true);
  assert.deepEqual(source.acked, [{ id: "1", ok: true }]);
});

test("the default processJob succeeds", async () => {
  const { log, lines } = captureLog();
  await processJob(job("7", "hello"), { log, signal: new AbortController().signal, fetch });
  assert.equal(lines[0]?.job_id, "7");
});
{{/worker}}

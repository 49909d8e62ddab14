{{#cron}}
// The cron job: exit 0 when it succeeds, 1 when it fails or its deadline
// passes, and the real process exits with that status.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { loadConfig } from "../src/config.js";
import { cronMetrics, runCron, runJob, type CronDeps } from "../src/cron.js";
import { Registry } from "../src/metrics.js";
import { logSpanExporter, Tracer } from "../src/tracing.js";
import { captureLog, type Line } from "./helpers.js";

function deps(deadlineMs = 1000): { d: CronDeps; lines: Line[] } {
  const { log, lines } = captureLog();
  return {
    d: {
{{#db}}
      config: loadConfig({ DATABASE_URL: "postgres://db.internal:5432/app" }),
{{/db}}
{{^db}}
      config: loadConfig({}),
{{/db}}
      log,
      tracer: new Tracer("test", logSpanExporter(log)),
      metrics: cronMetrics(new Registry()),
      deadlineMs,
    },
    lines,
  };
}

test("a job that succeeds exits 0 and records its success", async () => {
  const { d, lines } = deps();
  const before = Date.now() / 1000;
  assert.equal(await runCron(async () => {}, d), 0);
  assert.ok(d.metrics.lastSuccess.get() >= before);
  assert.equal(d.metrics.duration.count(), 1);
  const finished = lines.find((l) => l.msg === "job finished");
  assert.equal(finished?.exit_code, 0);
  assert.match(String(finished?.trace_id), /^[0-9a-f]{32}$/);
  // the run's span is exported last, in the same trace
  const span = lines.at(-1);
  assert.equal(span?.msg, "span");
  assert.equal(span?.trace_id, finished?.trace_id);
});

test("a job that throws exits 1", async () => {
  const { d, lines } = deps();
  assert.equal(
    await runCron(async () => {
      throw new Error("no luck");
    }, d),
    1,
  );
  assert.equal(d.metrics.lastSuccess.get(), 0);
  assert.ok(lines.some((l) => l.msg === "job failed" && l.level === "error"));
});

test("a job past its deadline exits 1 and sees its signal aborted", async () => {
  const { d, lines } = deps(50);
  let aborted = false;
  const code = await runCron(
    (ctx) =>
      new Promise<void>((resolve) => {
        ctx.signal.addEventListener("abort", () => {
          aborted = true;
          resolve();
        });
      }),
    d,
  );
  assert.equal(code, 1);
  assert.equal(aborted, true);
  assert.ok(lines.some((l) => l.msg === "job deadline exceeded"));
});

test("the default job succeeds", async () => {
  const { d } = deps();
  assert.equal(await runCron(runJob, d), 0);
});

// the compiled entry point, as the CronJob runs it
const main = fileURLToPath(new URL("../src/main.js", import.meta.url));

function run(env: Record<string, string>): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout };
}

test("the process exits 0 after a good run", () => {
{{#db}}
  const r = run({ DATABASE_URL: "postgres://db.internal:5432/app" });
{{/db}}
{{^db}}
  const r = run({});
{{/db}}
  assert.equal(r.status, 0, r.stdout);
  const last = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as Line;
  assert.equal(last.msg, "span");
  assert.ok(r.stdout.includes('"msg":"job finished"'));
});

test("the process exits 1 when the run fails", () => {
{{#db}}
  // no DATABASE_URL: the default job fails
  const r = run({});
{{/db}}
{{^db}}
  const r = run({ JOB_DEADLINE_SECONDS: "not a number" });
{{/db}}
  assert.equal(r.status, 1, r.stdout);
  assert.ok(r.stdout.includes('"level":"error"'));
});
{{/cron}}

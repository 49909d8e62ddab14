{{^cron}}
// The compiled entry point as Kubernetes runs it: a child process that
// listens on PORT, answers the probes, and exits 0 on SIGTERM.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import type { Line } from "./helpers.js";

const main = fileURLToPath(new URL("../src/main.js", import.meta.url));

interface Run {
  child: ChildProcess;
  lines: Line[];
  /** Resolves the first line that matches, or fails after 10 s. */
  waitFor(match: (l: Line) => boolean): Promise<Line>;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? "", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: Line[] = [];
  const waiters: { match: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  let buf = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = JSON.parse(buf.slice(0, nl)) as Line; // every line is JSON
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.filter((w) => w.match(line))) w.resolve(line);
    }
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return {
    child,
    lines,
    exited,
    waitFor(match) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`timed out; lines: ${JSON.stringify(lines)}`));
        }, 10_000);
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

{{#worker}}
{{#queue}}
test("the worker refuses to start until KafkaSource is wired to a client", async () => {
  // start-up fails loudly instead of consuming nothing (src/queue.ts)
  const r = run({
{{#db}}
    DATABASE_URL: "postgres://db.internal:5432/app",
{{/db}}
    KAFKA_BROKERS: "kafka.internal:9092",
  });
  assert.equal(await r.exited, 1);
  const failed = r.lines.find((l) => l.msg === "start-up failed");
  assert.match(JSON.stringify(failed?.err), /not wired to a Kafka client/);
});

{{/queue}}
{{/worker}}
/** Starts, turns ready, and exits 0 on SIGTERM after saying "stopped". */
export async function startsAndStops(): Promise<void> {
  const r = run({
{{#api}}
    DRAIN_SECONDS: "0",
{{/api}}
{{#db}}
    DATABASE_URL: "postgres://db.internal:5432/app",
{{/db}}
  });
  const listening = await r.waitFor((l) => l.msg === "listening");
  const base = `http://127.0.0.1:${String(listening.port)}`;
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  await r.waitFor((l) => l.msg === "start-up done: ready");
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  r.child.kill("SIGTERM");
  assert.equal(await r.exited, 0);
  assert.ok(r.lines.some((l) => l.msg === "stopped"));
}

{{^worker}}
test("the service starts, turns ready, and exits 0 on SIGTERM", startsAndStops);

{{/worker}}
{{#worker}}
{{^queue}}
test("the worker starts, turns ready, and exits 0 on SIGTERM", startsAndStops);

{{/queue}}
{{/worker}}
{{#db}}
test("without DATABASE_URL it stays alive and not ready", async () => {
  const r = run({});
  const listening = await r.waitFor((l) => l.msg === "listening");
  const base = `http://127.0.0.1:${String(listening.port)}`;
  await r.waitFor((l) => l.level === "error");
  assert.equal((await fetch(`${base}/readyz`)).status, 503);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  r.child.kill("SIGTERM");
  assert.equal(await r.exited, 0);
});

{{/db}}
test("a bad configuration exits 1 and says which variable", async () => {
  const r = run({ PORT: "eighty" });
  assert.equal(await r.exited, 1);
  const err = r.lines.find((l) => l.level === "error");
  assert.match(String(err?.msg), /PORT="eighty"/);
});
{{/cron}}

{{^cron}}
// Start-up: what must be done before the service may take traffic. The
// HTTP server (so /healthz) is already up while this runs, /readyz says
// 503 with the current phase, and the Deployment's startupProbe gives it
// paved.dev/startup-seconds (300 s) before liveness may restart the pod.

import type { Config } from "./config.js";
import type { Logger } from "./log.js";
import type { Readiness } from "./readiness.js";
{{#db}}
import { runMigrations } from "./db.js";
{{/db}}
{{#worker}}
import type { Source } from "./worker.js";
{{/worker}}

/** Resolves after ms, or at once when signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

export interface StartUpDeps {
  config: Config;
  log: Logger;
  readiness: Readiness;
  /** Aborted at shutdown: stop retrying. */
  signal: AbortSignal;
{{#db}}
  /** The migration step; runMigrations (db.ts) unless a test replaces it. */
  migrate?: (databaseUrl: string, log: Logger) => Promise<void>;
  /** The first wait before retrying a failed migration (doubles to 30 s). */
  retryMs?: number;
{{/db}}
{{#worker}}
  source: Source;
{{/worker}}
}

/**
 * Runs the start-up phases in order, then marks the service ready and
 * resolves true. Resolves false, still not ready, when start-up cannot
 * finish: the pod stays alive (liveness is fine) and out of traffic, and
 * /readyz and the log say why. Rejects when a dependency refuses outright
 * (the caller exits non-zero and Kubernetes restarts the pod).
 */
export async function startUp(d: StartUpDeps): Promise<boolean> {
{{#db}}
  const url = d.config.databaseUrl;
  if (url === undefined) {
    const reason = "DATABASE_URL is not set: the Deployment takes it from the Secret in terraform/database.tf";
    d.readiness.setPhase("config", reason);
    d.log.error(`not ready: ${reason}`);
    return false;
  }
  // a database that is not there yet (a new instance, a failover) is
  // waited for: 1 s, 2 s, 4 s ... 30 s between tries
  d.readiness.setPhase("migrate");
  d.log.info("start-up: migrating the database");
  for (let wait = d.retryMs ?? 1000; ; wait = Math.min(wait * 2, 30_000)) {
    try {
      await (d.migrate ?? runMigrations)(url, d.log);
      break;
    } catch (err) {
      d.readiness.setPhase("migrate", `the last migration failed: ${err instanceof Error ? err.message : String(err)}`);
      d.log.error("migration failed: retrying", { err, retry_in_ms: wait });
      await sleep(wait, d.signal);
      if (d.signal.aborted) return false;
    }
  }
{{/db}}
{{#worker}}
  d.readiness.setPhase("connect");
  await d.source.start();
{{/worker}}
  if (d.signal.aborted) return false;
  d.readiness.markReady();
  d.log.info("start-up done: ready");
  return true;
}
{{/cron}}

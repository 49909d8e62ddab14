{{#cron}}
// The cron job: one run of runJob with a deadline, then the process
// exits 0 (done) or 1 (failed, or the deadline passed). Kubernetes judges
// the run by that exit status: the CronJob retries (backoffLimit) and
// records the failure, and the alerts in observability/alerts.yaml read
// kube-state-metrics (kube_job_status_failed, kube_job_failed{reason=
// "DeadlineExceeded"}, kube_cronjob_status_last_successful_time).
// cron_job_last_success_timestamp_seconds and cron_job_duration_seconds
// are kept for the run's last log line only: a process that lives for one
// run is never scraped, and nothing is pushed (no Pushgateway).

import type { Config } from "./config.js";
import type { Logger } from "./log.js";
import type { Gauge, Histogram, Registry } from "./metrics.js";
import { tracedFetch, type Tracer } from "./tracing.js";

export interface JobContext {
  config: Config;
  log: Logger;
  /** Aborted when the deadline passes: stop and clean up. */
  signal: AbortSignal;
  /** fetch that carries the run's trace to the services it calls. */
  fetch: (input: string | URL, init?: RequestInit) => Promise<Response>;
}

export type CronJob = (ctx: JobContext) => Promise<void>;

/**
 * One run of the job. FILL THIS IN.
 * Resolve when the work is done, throw when it failed. Honour
 * ctx.signal in long loops: after the deadline the run counts as failed
 * and the process exits anyway.
 */
export async function runJob(ctx: JobContext): Promise<void> {
{{#db}}
  if (ctx.config.databaseUrl === undefined) {
    throw new Error("DATABASE_URL is not set: the CronJob takes it from the Secret in terraform/database.tf");
  }
{{/db}}
  ctx.log.info("hello from the job", { service: ctx.config.service });
}

export interface CronMetrics {
  lastSuccess: Gauge;
  duration: Histogram;
}

export function cronMetrics(registry: Registry): CronMetrics {
  return {
    lastSuccess: registry.gauge(
      "cron_job_last_success_timestamp_seconds",
      "When the job last succeeded, in seconds since the epoch.",
    ),
    duration: registry.histogram("cron_job_duration_seconds", "How long one run of the job took.", [], [
      1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600,
    ]),
  };
}

export class DeadlineExceeded extends Error {
  override name = "DeadlineExceeded";
}

export interface CronDeps {
  config: Config;
  log: Logger;
  tracer: Tracer;
  metrics: CronMetrics;
  deadlineMs: number;
}

/** Runs job once within the deadline; resolves the exit status. */
export async function runCron(job: CronJob, d: CronDeps): Promise<0 | 1> {
  const abort = new AbortController();
  const span = d.tracer.startSpan("cron run", { kind: "internal", parent: null });
  const start = process.hrtime.bigint();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const err = new DeadlineExceeded(`deadline of ${d.deadlineMs / 1000} s exceeded`);
      // rejected before the abort: a job that returns as soon as it sees
      // the signal still counts as past its deadline
      reject(err);
      abort.abort(err);
    }, d.deadlineMs);
  });
  let code: 0 | 1;
  try {
    await d.tracer.withSpan(span, () =>
      Promise.race([
        job({
          config: d.config,
          log: d.log,
          signal: abort.signal,
          fetch: (input, init) => tracedFetch(d.tracer, input, init),
        }),
        deadline,
      ]),
    );
    d.metrics.lastSuccess.set(Date.now() / 1000);
    code = 0;
  } catch (err) {
    span.setError(err);
    code = 1;
    d.tracer.withSpan(span, () =>
      d.log.error(err instanceof DeadlineExceeded ? "job deadline exceeded" : "job failed", { err }),
    );
  } finally {
    clearTimeout(timer);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  d.metrics.duration.observe(seconds);
  d.tracer.withSpan(span, () =>
    d.log.info("job finished", {
      exit_code: code,
      duration_seconds: seconds,
      cron_job_last_success_timestamp_seconds: d.metrics.lastSuccess.get(),
    }),
  );
  span.end();
  return code;
}
{{/cron}}

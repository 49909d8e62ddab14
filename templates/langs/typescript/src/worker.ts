{{#worker}}
// The worker: a loop that takes jobs from a Source, one at a time, runs
// processJob on each inside a span that continues the producer's trace,
// and counts what happened in worker_jobs_processed_total{outcome},
// worker_job_duration_seconds and worker_queue_depth.
// A failed job is logged and counted, and the loop goes on; a failing
// Source (the queue is gone) ends the loop with its error, and the
// process exits so that Kubernetes restarts it.

import type { Logger } from "./log.js";
import type { Counter, Gauge, Histogram, Registry } from "./metrics.js";
import { tracedFetch, type Tracer } from "./tracing.js";
{{^queue}}
import { sleep } from "./startup.js";
{{/queue}}

export interface Job {
  id: string;
  body: string;
  /** Message headers: `traceparent` continues the producer's trace. */
  headers: Record<string, string>;
}

/** Where jobs come from: MemorySource in tests{{#queue}}, KafkaSource (queue.ts) in production{{/queue}}{{^queue}}, TickSource until the team plugs in its own{{/queue}}. */
export interface Source {
  /** Connects; the worker is ready (/readyz) once this resolves. */
  start(): Promise<void>;
  /** The next job; undefined once the source is closed or signal aborted. */
  next(signal: AbortSignal): Promise<Job | undefined>;
  /** The job is finished (ok or not): acknowledge or commit it. */
  done(job: Job, ok: boolean): Promise<void>;
  /** Jobs waiting (Kafka: the consumer group's lag), for the gauge. */
  depth(): number;
  close(): Promise<void>;
}

/** An in-memory queue: push jobs, end() when there are no more. */
export class MemorySource implements Source {
  readonly #jobs: Job[] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  readonly acked: { id: string; ok: boolean }[] = [];

  constructor(jobs: Job[] = []) {
    this.#jobs.push(...jobs);
  }

  push(job: Job): void {
    this.#jobs.push(job);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async start(): Promise<void> {}

  async next(signal: AbortSignal): Promise<Job | undefined> {
    for (;;) {
      if (signal.aborted) return undefined;
      const job = this.#jobs.shift();
      if (job !== undefined) return job;
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal.removeEventListener("abort", wake);
          this.#wake = undefined;
          resolve();
        };
        this.#wake = wake;
        signal.addEventListener("abort", wake);
      });
    }
  }

  async done(job: Job, ok: boolean): Promise<void> {
    this.acked.push({ id: job.id, ok });
  }

  depth(): number {
    return this.#jobs.length;
  }

  async close(): Promise<void> {
    this.end();
  }
}
{{^queue}}

/** A job every intervalMs: a stand-in so that the worker does something
 * from its first deploy. Replace it with the real source of work (a
 * queue: `paved create-service --queue` makes a Kafka one; a table
 * polled with SELECT ... FOR UPDATE SKIP LOCKED; ...). */
export class TickSource implements Source {
  readonly #intervalMs: number;
  #n = 0;

  constructor(intervalMs = 10_000) {
    this.#intervalMs = intervalMs;
  }

  async start(): Promise<void> {}

  async next(signal: AbortSignal): Promise<Job | undefined> {
    await sleep(this.#intervalMs, signal);
    if (signal.aborted) return undefined;
    this.#n += 1;
    return { id: `tick-${this.#n}`, body: JSON.stringify({ tick: this.#n }), headers: {} };
  }

  async done(): Promise<void> {}

  depth(): number {
    return 0;
  }

  async close(): Promise<void> {}
}
{{/queue}}

export interface WorkerMetrics {
  processed: Counter;
  depth: Gauge;
  duration: Histogram;
}

export function workerMetrics(registry: Registry): WorkerMetrics {
  return {
    processed: registry.counter("worker_jobs_processed_total", "Jobs finished, by outcome (ok or error).", ["outcome"]),
    depth: registry.gauge("worker_queue_depth", "Jobs waiting in the source."),
    duration: registry.histogram("worker_job_duration_seconds", "Time to process one job."),
  };
}

export interface JobContext {
  log: Logger;
  /** Aborted when the worker is asked to stop: finish or give up soon. */
  signal: AbortSignal;
  /** fetch that carries the job's trace to the services it calls. */
  fetch: (input: string | URL, init?: RequestInit) => Promise<Response>;
}

export type JobHandler = (job: Job, ctx: JobContext) => Promise<void>;

/**
 * What the worker does with one job. FILL THIS IN.
 * Throw to fail the job (counted as outcome="error", logged, and handed
 * to Source.done as not ok). Calls to other services through ctx.fetch
 * continue the trace.
 */
export async function processJob(job: Job, ctx: JobContext): Promise<void> {
  ctx.log.info("job processed", { job_id: job.id, bytes: Buffer.byteLength(job.body) });
}

export interface WorkerDeps {
  source: Source;
  handler: JobHandler;
  metrics: WorkerMetrics;
  tracer: Tracer;
  log: Logger;
  /** Abort to stop: the job in hand is finished first. */
  signal: AbortSignal;
}

/** Runs until the signal aborts or the source has no more jobs. */
export async function runWorker(d: WorkerDeps): Promise<void> {
  const ctx: JobContext = {
    log: d.log,
    signal: d.signal,
    fetch: (input, init) => tracedFetch(d.tracer, input, init),
  };
  for (;;) {
    d.metrics.depth.set(d.source.depth());
    const job = await d.source.next(d.signal);
    if (job === undefined) break;
    d.metrics.depth.set(d.source.depth());
    const span = d.tracer.startFromHeaders("process job", job.headers, "consumer");
    span.setAttribute("job.id", job.id);
    const start = process.hrtime.bigint();
    let ok = true;
    await d.tracer.withSpan(span, async () => {
      try {
        await d.handler(job, ctx);
      } catch (err) {
        ok = false;
        span.setError(err);
        d.log.error("job failed", { job_id: job.id, err });
      }
      d.metrics.duration.observe(Number(process.hrtime.bigint() - start) / 1e9);
      d.metrics.processed.inc({ outcome: ok ? "ok" : "error" });
      span.end();
    });
    await d.source.done(job, ok);
  }
  d.metrics.depth.set(d.source.depth());
}
{{/worker}}

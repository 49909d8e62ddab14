// {{service.name}}: the process's entry point ({{service.type}}). Reads the
// configuration, sets up logs, tracing and metrics, then
{{#api}}
// serves HTTP on PORT until SIGTERM: the server listens first (liveness),
// start-up runs, and readiness turns on when it is done.
{{/api}}
{{#worker}}
// serves health and metrics on PORT and runs the worker loop until
// SIGTERM: the job in hand is finished before the process exits.
{{/worker}}
{{#cron}}
// runs the job once and exits 0 (done) or 1 (failed or past its deadline).
{{/cron}}
{{^cron}}
// Exits 1 on a bad configuration or a failed start-up.
{{/cron}}
{{#cron}}
// Exits 1 on a bad configuration too.
{{/cron}}

import { ConfigError, loadConfig, type Config } from "./config.js";
import { Logger } from "./log.js";
import { Registry } from "./metrics.js";
import { logSpanExporter, Tracer } from "./tracing.js";
{{^cron}}
import { Readiness } from "./readiness.js";
import { close, createServer, httpMetrics, listen } from "./server.js";
import { startUp } from "./startup.js";
{{/cron}}
{{#worker}}
import { processJob, runWorker, workerMetrics } from "./worker.js";
{{#queue}}
import { KafkaSource } from "./queue.js";
{{/queue}}
{{^queue}}
import { TickSource } from "./worker.js";
{{/queue}}
{{/worker}}
{{#cron}}
import { cronMetrics, runCron, runJob } from "./cron.js";
{{/cron}}

{{^cron}}
// How long shutdown may take before the process gives up and exits: less
// than the pod's terminationGracePeriodSeconds (30), after which the
// kubelet kills it anyway.
const SHUTDOWN_GRACE_MS = 25_000;

{{/cron}}
async function main(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    new Logger({ service: "{{service.name}}", level: "info" }).error(`bad configuration: ${err.message}`);
    return 1;
  }
  const log = new Logger({ service: config.service, level: config.logLevel });
  const tracer = new Tracer(config.service, logSpanExporter(log));
  const registry = new Registry();
  if (config.otlpEndpoint !== undefined) {
    log.info("OTEL_EXPORTER_OTLP_ENDPOINT is set, but spans go to the log (see src/tracing.ts for OTLP)");
  }
{{#cron}}
  // SIGTERM: the CronJob was deleted or the node drains; the run did not
  // finish, so it failed
  process.once("SIGTERM", () => {
    log.error("terminated (SIGTERM) before the job finished");
    process.exit(1);
  });
  return runCron(runJob, {
    config,
    log,
    tracer,
    metrics: cronMetrics(registry),
    deadlineMs: config.deadlineSeconds * 1000,
  });
{{/cron}}
{{^cron}}
  const readiness = new Readiness();
  const server = createServer({ log, tracer, registry, http: httpMetrics(registry), readiness });
{{#worker}}
  const metrics = workerMetrics(registry);
{{#queue}}
  const source = new KafkaSource(config.kafka, log);
{{/queue}}
{{^queue}}
  const source = new TickSource();
{{/queue}}
{{/worker}}
  const port = await listen(server, config.port);
  log.info("listening", { port });

  // SIGTERM (Kubernetes) or SIGINT (Ctrl-C): stop taking work, finish
  // what is in flight, exit 0; exit 1 if that takes too long.
  const stopping = new AbortController();
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      log.info("shutting down", { signal });
      readiness.markStopping();
      stopping.abort();
      setTimeout(() => {
        log.error("shutdown took too long: exiting", { grace_ms: SHUTDOWN_GRACE_MS });
        resolve(1);
      }, SHUTDOWN_GRACE_MS).unref();
{{#api}}
      // serve on while the endpoint is removed from the Service
      setTimeout(() => {
        void close(server).then(() => {
          log.info("stopped");
          resolve(0);
        });
      }, config.drainSeconds * 1000);
{{/api}}
{{^api}}
      void close(server).then(() => {
        log.info("stopped");
        resolve(0);
      });
{{/api}}
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });

  let ready = false;
  try {
    ready = await startUp({ config, log, readiness, signal: stopping.signal{{#worker}}, source{{/worker}} });
  } catch (err) {
    log.error("start-up failed", { err });
    await close(server);
    return 1;
  }
{{#worker}}
  if (ready) {
    try {
      await runWorker({ source, handler: processJob, metrics, tracer, log, signal: stopping.signal });
    } catch (err) {
      log.error("worker stopped: the job source failed", { err });
      await close(server);
      return 1;
    } finally {
      await source.close();
    }
  }
{{/worker}}
  if (!ready && !stopping.signal.aborted) {
    log.warn("start-up did not finish: answering /healthz and /readyz (503) until stopped");
  }
  return stopped;
{{/cron}}
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    new Logger({ service: "{{service.name}}", level: "info" }).error("crashed", { err });
    process.exit(1);
  },
);

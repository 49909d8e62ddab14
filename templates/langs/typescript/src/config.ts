// Configuration, read once at start from the environment: the variables
// the platform's manifests set (k8s/), with defaults for a laptop.
// It never logs a value: DATABASE_URL holds the database password.

import { parseLevel, type Level } from "./log.js";

export class ConfigError extends Error {
  override name = "ConfigError";
}

{{#queue}}
export interface KafkaConfig {
  brokers: string[]; // KAFKA_BROKERS: host:port,host:port
  topic: string; // KAFKA_TOPIC: the service's topic (terraform/queue.tf)
  group: string; // KAFKA_GROUP: the service's consumer group
}

{{/queue}}
export interface Config {
  service: string; // OTEL_SERVICE_NAME: the name in logs and spans
  logLevel: Level; // LOG_LEVEL: debug, info, warn, error
  // OTEL_EXPORTER_OTLP_ENDPOINT: optional; spans go to the log either
  // way (see tracing.ts for the upgrade path)
  otlpEndpoint: string | undefined;
{{^cron}}
  port: number; // PORT: the one port, health, readiness and metrics
{{/cron}}
{{#api}}
  // DRAIN_SECONDS: after SIGTERM, how long to go on serving (while
  // /readyz says 503) before closing: Kubernetes takes a moment to remove
  // the pod from the Service, and requests still arrive meanwhile
  drainSeconds: number;
{{/api}}
{{#cron}}
  // JOB_DEADLINE_SECONDS: one run's time budget, 540 s by default: just
  // under the CronJob's activeDeadlineSeconds (600, k8s/cronjob.yaml),
  // the backstop that kills the pod, so that a run out of time ends
  // itself cleanly, with a log line. Change the two together.
  deadlineSeconds: number;
{{/cron}}
{{#db}}
  // DATABASE_URL: postgres://user:password@host:5432/db, from the Secret
  // <name>-db (terraform/database.tf); undefined when not set
  databaseUrl: string | undefined;
{{/db}}
{{#queue}}
  kafka: KafkaConfig;
{{/queue}}
}

type Env = Record<string, string | undefined>;

/** The configuration in env; a ConfigError says which variable is wrong. */
export function loadConfig(env: Env = process.env): Config {
  const level = parseLevel(env.LOG_LEVEL ?? "info");
  if (level === undefined) {
    throw new ConfigError(`LOG_LEVEL="${env.LOG_LEVEL}": use debug, info, warn or error`);
  }
  const service = nonEmpty(env.OTEL_SERVICE_NAME) ?? "{{service.name}}";
  return {
    service,
    logLevel: level,
    otlpEndpoint: nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT),
{{^cron}}
    port: intVar(env, "PORT", 8080, 0, 65535),
{{/cron}}
{{#api}}
    drainSeconds: intVar(env, "DRAIN_SECONDS", 5, 0, 20),
{{/api}}
{{#cron}}
    deadlineSeconds: intVar(env, "JOB_DEADLINE_SECONDS", 540, 1, 86400),
{{/cron}}
{{#db}}
    databaseUrl: nonEmpty(env.DATABASE_URL),
{{/db}}
{{#queue}}
    kafka: {
      brokers: (env.KAFKA_BROKERS ?? "")
        .split(",")
        .map((b) => b.trim())
        .filter((b) => b !== ""),
      topic: nonEmpty(env.KAFKA_TOPIC) ?? service,
      group: nonEmpty(env.KAFKA_GROUP) ?? service,
    },
{{/queue}}
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== "" ? v.trim() : undefined;
}

function intVar(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new ConfigError(`${name}="${raw}": want a whole number from ${min} to ${max}`);
  }
  return n;
}

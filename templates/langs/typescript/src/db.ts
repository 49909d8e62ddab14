{{#db}}
{{^cron}}
// The database: schema migrations, run at start-up before /readyz turns
// ready (startup.ts). DATABASE_URL comes from the Secret <name>-db that
// terraform/database.tf writes; it holds the password, so it is never
// logged.

import type { Logger } from "./log.js";

/**
 * Applies the schema migrations, then returns. FILL THIS IN.
 *
 * Runs in every pod at every start, so it must be idempotent and safe
 * when two pods start at once: take a PostgreSQL advisory lock
 * (SELECT pg_advisory_lock(...)), apply the migrations not yet recorded
 * in a schema_migrations table, each in a transaction, then unlock.
 * With a client such as `pg` (npm install pg @types/pg):
 *   const client = new pg.Client({ connectionString: databaseUrl });
 *   await client.connect(); ...; await client.end();
 * or run a migration tool (node-pg-migrate, Prisma migrate) here.
 * It may take minutes: liveness waits (startupProbe, 300 s); readiness
 * stays 503 until it returns. Throw to fail start-up.
 */
export async function runMigrations(databaseUrl: string, log: Logger): Promise<void> {
  const host = safeHost(databaseUrl);
  log.info("migrations: none yet (fill in runMigrations in src/db.ts)", { database_host: host });
}

// The host of the URL, never its user or password, for logs.
function safeHost(databaseUrl: string): string {
  try {
    return new URL(databaseUrl).host;
  } catch {
    return "(unparsable DATABASE_URL)";
  }
}
{{/cron}}
{{/db}}

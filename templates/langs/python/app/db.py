{{#db}}
"""The database: schema migrations, run at start-up{{^cron}} before /readyz says 200{{/cron}}{{#cron}} of each run{{/cron}}.

The service's PostgreSQL comes from terraform/database.tf; its URL, as
DATABASE_URL, from the Secret SECRET_NAME (key url). The standard library
has no PostgreSQL driver and this repository installs nothing, so the
calls to the database are the TEAM'S TO FILL IN: see apply_migrations().
Never logs DATABASE_URL (it carries a password).
"""
import logging
from typing import List, Tuple

# Kubernetes Secret holding the database URL (key url)
SECRET_NAME = "{{service.name}}-db"

# The service's tables live in its own schema.
SCHEMA = "{{service.ident}}"
# Run on every start, before the migrations (each is idempotent).
BOOTSTRAP = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations ("
    " id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
)
# (id, SQL), applied in order, each once, its id then recorded in
# schema_migrations. Append; never edit one that shipped. For example:
#   ("0001_greetings", f"CREATE TABLE {SCHEMA}.greetings (name text PRIMARY KEY)")
MIGRATIONS: List[Tuple[str, str]] = []


class NotConfigured(RuntimeError):
    """DATABASE_URL is missing: the service cannot become ready."""


def apply_migrations(database_url: str, migrations: List[Tuple[str, str]],
                     log: logging.Logger) -> int:
    """TEAM: replace the body with your PostgreSQL driver (psycopg, asyncpg,
    ...): connect to database_url, take an advisory lock (several replicas
    start at once), run BOOTSTRAP, then each migration whose id is not in
    schema_migrations, inside a transaction, inserting its id there.
    Return how many were applied.

    Until then nothing is applied and the service still becomes ready, so
    that the first deploy of a new service is green; the warning says so
    on every start."""
    log.warning("migrations not applied: no PostgreSQL driver is wired in yet"
                " (fill in app/db.py apply_migrations)",
                extra={"fields": {"pending": len(migrations)}})
    return 0


def migrate(database_url: str, log: logging.Logger) -> int:
    """The "migrate" start-up phase: NotConfigured without a DATABASE_URL,
    the driver's exception when a migration fails (the pod then restarts:
    the startup probe allows 300 s for this phase)."""
    if not database_url:
        raise NotConfigured("DATABASE_URL is not set: it comes from the Secret"
                            f" {SECRET_NAME}, key url")
    return apply_migrations(database_url, MIGRATIONS, log)
{{/db}}

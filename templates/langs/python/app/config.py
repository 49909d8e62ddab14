"""Configuration from the environment.

The only module that reads os.environ: everything else takes a Config, so
tests build one by hand. It never reads files and never logs values (a
DATABASE_URL can carry a password).
"""
import os
from dataclasses import dataclass
from typing import Mapping, Optional

SERVICE = "{{service.name}}"
LEVELS = ("debug", "info", "warning", "error")  # and "warn" for warning


@dataclass(frozen=True)
class Config:
    service: str = SERVICE
    port: int = 8080
    log_level: str = "info"
    # Where spans would go over OTLP; see tracing.py (spans are log lines
    # until an exporter is added).
    otlp_endpoint: str = ""
{{#db}}
    # From the service's database Secret, key url (see app/db.py).
    database_url: str = ""
{{/db}}
{{#queue}}
    # Comma-separated host:port list; topic and consumer group default to
    # the service name (terraform/queue.tf creates both).
    kafka_brokers: str = ""
    kafka_topic: str = SERVICE
    kafka_group: str = SERVICE
{{/queue}}

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Config":
        """Reads the environment; ValueError names the variable at fault."""
        env = os.environ if env is None else env
        raw_port = env.get("PORT", "8080")
        try:
            port = int(raw_port)
        except ValueError:
            port = -1
        if not 0 <= port <= 65535:
            raise ValueError(f"PORT={raw_port!r}: give a port number 0-65535")
        level = env.get("LOG_LEVEL", "info").lower()
        level = "warning" if level == "warn" else level
        if level not in LEVELS:
            raise ValueError(f"LOG_LEVEL={level!r}: use one of {', '.join(LEVELS)}")
        return cls(
            service=env.get("OTEL_SERVICE_NAME") or SERVICE,
            port=port,
            log_level=level,
            otlp_endpoint=env.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""),
{{#db}}
            database_url=env.get("DATABASE_URL", ""),
{{/db}}
{{#queue}}
            kafka_brokers=env.get("KAFKA_BROKERS", ""),
            kafka_topic=env.get("KAFKA_TOPIC") or SERVICE,
            kafka_group=env.get("KAFKA_GROUP") or SERVICE,
{{/queue}}
        )

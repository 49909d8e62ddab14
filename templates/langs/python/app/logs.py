"""Structured logs: one JSON object per line on stdout.

Every line has time, level, msg and service, plus trace_id and span_id
while a span is current (so a log search by trace id finds the request's
lines). Extra fields go in `extra={"fields": {...}}`. Never writes a
file: the platform collects stdout.
"""
import json
import logging
import sys
import time
from typing import IO, Optional

from . import tracing

LOGGER = "{{service.ident}}"
_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}
_RESERVED = ("time", "level", "msg", "service")


def _rfc3339(created: float) -> str:
    ms = int(created * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{ms:03d}Z"


class JsonFormatter(logging.Formatter):
    """Formats a record as a single line of JSON (newlines are escaped)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": _rfc3339(record.created),
            "level": _LEVELS.get(record.levelno, record.levelname.lower()),
            "msg": record.getMessage(),
            "service": self.service,
        }
        span = tracing.current_span()
        if span is not None:
            out["trace_id"] = span.context.trace_id
            out["span_id"] = span.context.span_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                if key not in _RESERVED:
                    out[key] = value
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


def setup(service: str, level: str = "info",
          stream: Optional[IO[str]] = None) -> logging.Logger:
    """Sends every logger's records (the standard library's too) as JSON
    lines to stream (stdout); returns the service's logger."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return logging.getLogger(LOGGER)


def get() -> logging.Logger:
    return logging.getLogger(LOGGER)

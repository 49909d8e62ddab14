"""Start-up: configuration, JSON logs, signals, then the {{service.type}}.

Exit status: 0 after a clean stop{{#cron}} or a successful run{{/cron}}, 1 on failure (logged),
2 for a configuration error (a bad PORT or LOG_LEVEL, said on stderr).
"""
import signal
import sys
import threading
from typing import Optional, Sequence

from . import logs
{{#api}}
from . import server
{{/api}}
{{#worker}}
from . import worker
{{/worker}}
{{#cron}}
from . import cron
{{/cron}}
from .config import SERVICE, Config


def main(argv: Optional[Sequence[str]] = None) -> int:
    del argv  # no command-line options: configuration is the environment
    try:
        config = Config.from_env()
    except ValueError as exc:
        print(f"{SERVICE}: {exc}", file=sys.stderr)
        return 2
    log = logs.setup(config.service, config.log_level)
    if config.otlp_endpoint:
        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set, but spans are exported as log"
                    " lines: see app/tracing.py for the OTLP exporter's place")
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("signal received", extra={"fields": {"signal": signal.Signals(signum).name}})
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("starting", extra={"fields": {"type": "{{service.type}}", "port": config.port}})
    try:
{{#api}}
        return server.run(config, log, stop_requested)
{{/api}}
{{#worker}}
        return worker.run(config, log, stop_requested)
{{/worker}}
{{#cron}}
        return cron.run(config, log, stop_requested)
{{/cron}}
    except Exception:
        # e.g. the port is taken: one JSON line, not a bare traceback
        log.exception("failed")
        return 1

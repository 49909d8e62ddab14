{{#cron}}
"""The cron job: one run, under a deadline, exit status 0 (done) or 1.

k8s/cronjob.yaml starts it on its schedule; Kubernetes kills a run that
outlives activeDeadlineSeconds, with SIGTERM first. The job keeps its
own, shorter deadline so that it stops, logs why and exits 1 by itself
(DEADLINE_SECONDS: keep it under activeDeadlineSeconds).

Metrics: cron_job_duration_seconds and
cron_job_last_success_timestamp_seconds are computed and written to the
last log line, but pushed nowhere: a job this short is gone before
Prometheus scrapes it. The cron alerts use kube-state-metrics instead
(kube_job_status_failed, kube_job_failed{reason="DeadlineExceeded"},
kube_cronjob_status_last_successful_time). A Pushgateway, if the
platform adds one, is where registry.render() would go.
"""
import logging
import signal
import threading
import time
from typing import Any, Callable, Optional

from . import metrics, tracing
{{#db}}
from . import db
{{/db}}
from .config import Config

# 90 % of the CronJob's activeDeadlineSeconds (600 in k8s/cronjob.yaml):
# change both together
DEADLINE_SECONDS = 540.0


class DeadlineExceeded(Exception):
    """The run took longer than its deadline."""


class Terminated(Exception):
    """SIGTERM: Kubernetes is stopping the run (its deadline, or a node
    going away)."""


class Deadline:
    """The time left to the run; check() between the steps of long work."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def check(self) -> None:
        if time.monotonic() >= self.end:
            raise DeadlineExceeded(f"deadline of {self.seconds:g} s exceeded")


def job(config: Config, deadline: Deadline, tracer: tracing.Tracer,
        log: logging.Logger) -> None:
    """The work of one run. TEAM: yours goes here; raise to fail the run,
    call deadline.check() between steps, and make calls to other services
    with tracer.urlopen(...) so that they carry this run's traceparent."""
    deadline.check()
    log.info("hello from {{service.name}}")


def _raise(exc: Exception) -> Callable[[int, Any], None]:
    def handler(signum: int, frame: Any) -> None:
        raise exc
    return handler


def run(config: Config, log: logging.Logger,
        stop_requested: Optional[threading.Event] = None,
        work: Callable[[Config, Deadline, tracing.Tracer, logging.Logger], None] = job,
        deadline_seconds: float = DEADLINE_SECONDS,
        exporter: Optional[object] = None) -> int:
    """One run of work: 0 when it succeeded, 1 when it failed, ran out of
    time or was terminated. stop_requested is unused: a one-shot job
    stops on SIGTERM by itself (below)."""
    registry = metrics.Registry()
    duration = registry.gauge("cron_job_duration_seconds", "How long the last run took.")
    last_success = registry.gauge(
        "cron_job_last_success_timestamp_seconds",
        "When the last successful run ended (Unix time).")
    tracer = tracing.Tracer(config.service,
                            exporter if exporter is not None else tracing.LogExporter(log))
    deadline = Deadline(deadline_seconds)
    # the hard stop: even work that never calls check() is interrupted
    # (signals reach the main thread only, which is where run() runs)
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        old_alarm = signal.signal(signal.SIGALRM, _raise(
            DeadlineExceeded(f"deadline of {deadline_seconds:g} s exceeded")))
        old_term = signal.signal(signal.SIGTERM, _raise(Terminated("SIGTERM")))
        signal.setitimer(signal.ITIMER_REAL, deadline_seconds)
    start = time.monotonic()
    status = 1
    try:
        # the span ends marked as an error when an exception leaves it
        with tracer.span("cron run", parent=None,
                         attributes={"deadline_seconds": deadline_seconds}):
            try:
{{#db}}
                # idempotent, and runs never overlap (concurrencyPolicy Forbid)
                db.migrate(config.database_url, log)
{{/db}}
                work(config, deadline, tracer, log)
            finally:
                if in_main:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        status = 0
    except DeadlineExceeded as exc:
        log.error(f"run failed: {exc}")
    except Terminated:
        log.error("run stopped by SIGTERM")
{{#db}}
    except db.NotConfigured as exc:
        log.error(f"run failed: {exc}")
{{/db}}
    except Exception:
        log.exception("run failed")
    finally:
        if in_main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_alarm)
            signal.signal(signal.SIGTERM, old_term)
    elapsed = time.monotonic() - start
    duration.set(elapsed)
    if status == 0:
        last_success.set(time.time())
    log.info("run finished", extra={"fields": {
        "status": "ok" if status == 0 else "failed",
        "exit_code": status,
        "duration_seconds": round(elapsed, 6),
        "metrics": registry.render()}})
    return status
{{/cron}}

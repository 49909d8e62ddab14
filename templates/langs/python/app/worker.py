{{#worker}}
"""The worker: a loop that takes jobs from a Source and processes them.

Next to it runs the HTTP server of server.py (/healthz, /readyz,
/metrics on 8080). Each job gets a span that continues the producer's
trace (a traceparent in the job's headers), and the metrics of the
platform's dashboard and alerts: worker_jobs_processed_total{outcome},
worker_queue_depth, worker_job_duration_seconds.

A job that fails is logged, counted as outcome="error" and acknowledged:
it is not retried forever (send it to a dead-letter topic in process() if
it must not be lost). SIGTERM stops the loop after the job in hand.
"""
import collections
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Deque, Dict, Optional, Protocol

from . import server, tracing
from .config import Config


@dataclass
class Job:
    id: str
    payload: bytes
    # message headers: a traceparent here continues the producer's trace
    headers: Dict[str, str] = field(default_factory=dict)


class Source(Protocol):
    """Where jobs come from: MemorySource in tests{{#queue}}, KafkaSource in
    production{{/queue}}."""

    def poll(self, timeout: float) -> Optional[Job]:
        """The next job, or None when none came within timeout seconds."""

    def ack(self, job: Job) -> None:
        """The job is done with (processed or given up): do not deliver it
        again."""

    def depth(self) -> int:
        """Jobs waiting (for Kafka: the consumer group's lag)."""

    def close(self) -> None:
        """Stop consuming; called once, after the last poll."""


class MemorySource:
    """An in-process queue: the tests' source, and the one `make run` uses
{{#queue}}
    when KAFKA_BROKERS is not set.
{{/queue}}
{{^queue}}
    (replace it with the source of your jobs).
{{/queue}}
    """

    def __init__(self) -> None:
        self._jobs: "queue.Queue[Job]" = queue.Queue()
        # the latest acknowledged job ids (bounded: it may run for months)
        self.acked: Deque[str] = collections.deque(maxlen=1000)
        self.closed = False

    def put(self, job: Job) -> None:
        self._jobs.put(job)

    def poll(self, timeout: float) -> Optional[Job]:
        try:
            return self._jobs.get(timeout=timeout)
        except queue.Empty:
            return None

    def ack(self, job: Job) -> None:
        self.acked.append(job.id)

    def depth(self) -> int:
        return self._jobs.qsize()

    def close(self) -> None:
        self.closed = True
{{#queue}}


class KafkaSource:
    """The Kafka topic KAFKA_TOPIC, read as consumer group KAFKA_GROUP from
    KAFKA_BROKERS (terraform/queue.tf creates the topic and the group).

    TEAM: the standard library has no Kafka client and this repository
    installs nothing, so the consumer goes here, e.g. with confluent-kafka:
      __init__: Consumer({"bootstrap.servers": brokers, "group.id": group,
                "enable.auto.commit": False}); subscribe([topic])
      poll:     msg = consumer.poll(timeout); Job(id=f"{partition}:{offset}",
                payload=msg.value(), headers=dict of msg.headers())
      ack:      consumer.commit(message=msg, asynchronous=False), which
                gives at-least-once processing
      depth:    the group's lag: high watermark minus committed offset
      close:    consumer.close() (leaves the group at once)
    Until then it refuses to start, rather than consume nothing quietly.
    """

    def __init__(self, brokers: str, topic: str, group: str) -> None:
        raise NotImplementedError(
            "no Kafka consumer is wired in yet: fill in app/worker.py KafkaSource")

    def poll(self, timeout: float) -> Optional[Job]:
        raise NotImplementedError

    def ack(self, job: Job) -> None:
        raise NotImplementedError

    def depth(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
{{/queue}}


def default_process(job: Job, app: server.App) -> None:
    """What a job does. TEAM: your work goes here; raise to fail the job.
    Calls to other services go through app.tracer.urlopen(...), so that
    they continue the job's trace."""
    app.log.info("job processed", extra={"fields": {"job_id": job.id, "bytes": len(job.payload)}})


class Worker:
    """Takes jobs from source until stop(); one at a time."""

    def __init__(self, app: server.App, source: Source,
                 process: Callable[[Job, server.App], None] = default_process,
                 poll_seconds: float = 1.0) -> None:
        self.app = app
        self.source = source
        self.process = process
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        registry = app.registry
        self.processed = registry.counter(
            "worker_jobs_processed_total", "Jobs processed, by outcome (ok or error).",
            ("outcome",))
        self.depth = registry.gauge("worker_queue_depth", "Jobs waiting in the source.")
        self.duration = registry.histogram(
            "worker_job_duration_seconds", "Time to process one job.")
        # both outcomes exist from the start, so rate() and the error ratio
        # have a series before the first failure
        self.processed.inc(0, outcome="ok")
        self.processed.inc(0, outcome="error")
        self.depth.set(0)

    def run_once(self) -> bool:
        """Processes at most one job; False when none came."""
        self.depth.set(self.source.depth())
        job = self.source.poll(self.poll_seconds)
        if job is None:
            return False
        start = time.monotonic()
        outcome = "ok"
        with self.app.tracer.span("process job", parent=tracing.extract(job.headers),
                                  kind="consumer", attributes={"job.id": job.id}) as span:
            try:
                self.process(job, self.app)
            except Exception as exc:
                outcome = "error"
                span.set_error(f"{type(exc).__name__}: {exc}")
                self.app.log.exception("job failed", extra={"fields": {"job_id": job.id}})
        elapsed = time.monotonic() - start
        self.source.ack(job)
        self.processed.inc(outcome=outcome)
        self.duration.observe(elapsed)
        self.depth.set(self.source.depth())
        return True

    def run(self) -> None:
        while not self._stop.is_set():
            self.run_once()

    def stop(self) -> None:
        self._stop.set()


def make_source(config: Config, log: logging.Logger) -> Source:
{{#queue}}
    if config.kafka_brokers:
        return KafkaSource(config.kafka_brokers, config.kafka_topic, config.kafka_group)
    log.warning("KAFKA_BROKERS is not set: reading jobs from memory (nothing will come)")
{{/queue}}
{{^queue}}
    # TEAM: build the source of your jobs here from config
{{/queue}}
    return MemorySource()


def run(config: Config, log: logging.Logger, stop_requested: threading.Event) -> int:
    """The worker until stop_requested is set (SIGTERM); its exit status."""
    app = server.App(config, log)
    source = make_source(config, log)
    worker = Worker(app, source)
    loop = threading.Thread(target=worker.run, name="worker", daemon=True)
    # /healthz fails once the loop has died (the kubelet then restarts the
    # pod), not before it starts: migrations come first
    app.alive = lambda: loop.ident is None or loop.is_alive()
    http = server.make_server(app, config.port)
    server.serve(app, http)
    # jobs only once start-up (migrations) is done
    while app.phase != "ready" and not stop_requested.is_set():
        time.sleep(0.1)
    if not stop_requested.is_set():
        loop.start()
    while not stop_requested.is_set():
        # polling, not wait(): a signal handler may not take the lock that
        # Event.wait() holds
        time.sleep(0.1)
    log.info("stopping: finishing the job in hand")
    worker.stop()
    if loop.is_alive():
        loop.join()
    source.close()
    server.stop(app, http)
    log.info("stopped")
    return 0
{{/worker}}

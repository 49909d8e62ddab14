"""The HTTP side of the service: /healthz, /readyz, /metrics{{#api}}, /hello{{/api}}.

- /healthz is liveness: 200 while the process serves{{#worker}} and its worker
  loop runs{{/worker}}. It never looks at the database or the queue: a
  liveness probe that did would restart every pod during a long migration
  or when a dependency is slow.
- /readyz is readiness: 503 until start-up is done{{#db}} (the "migrate"
  phase, which needs DATABASE_URL){{/db}}, and again from SIGTERM on, so
  traffic drains before the process stops.
- /metrics is Prometheus's text format on the same port (8080).
{{#api}}
- GET /hello?name=NAME answers {"message": "hello, NAME", "trace_id": ...}.
{{/api}}

Requests other than the probes and /metrics get a span (continuing the
caller's traceparent), a JSON access log line and the http_* metrics.
ThreadingHTTPServer answers each connection in its own thread; nothing
here writes files.
"""
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, Optional, Tuple
{{#api}}
from urllib.parse import parse_qs, urlsplit
{{/api}}
{{^api}}
from urllib.parse import urlsplit
{{/api}}

from . import logs, metrics, tracing
{{#db}}
from . import db
{{/db}}
from .config import Config

# Not traced, not counted: probes every few seconds would drown the
# service's own traffic, and a 503 from /readyz while starting is no error.
QUIET_ROUTES = ("/healthz", "/readyz", "/metrics")
{{#api}}
ROUTES = QUIET_ROUTES + ("/hello",)
MAX_NAME = 100
# After SIGTERM the api keeps serving this long with /readyz failing:
# Kubernetes takes the pod out of the Service's endpoints a few seconds
# after it sends SIGTERM, not at once, and requests keep coming until
# then. This plus the requests in flight stays under the pod's
# terminationGracePeriodSeconds (30).
DRAIN_SECONDS = 5.0


def default_greet(name: str) -> str:
    """What /hello says. A call to another service belongs here, made with
    app.tracer.urlopen(...) so that it carries this request's traceparent."""
    return f"hello, {name}"
{{/api}}
{{^api}}
ROUTES = QUIET_ROUTES
{{/api}}


class App:
    """The state the handlers share: configuration, start-up phase,
    metrics, tracer."""

    def __init__(self, config: Config, log: Optional[logging.Logger] = None,
                 exporter: Optional[object] = None{{#api}},
                 greet: Callable[[str], str] = default_greet{{/api}}) -> None:
        self.config = config
        self.log = log or logs.get()
        self.tracer = tracing.Tracer(
            config.service, exporter if exporter is not None else tracing.LogExporter(self.log))
        self.registry = metrics.Registry()
        self.http_requests = self.registry.counter(
            "http_requests_total", "HTTP requests answered, by route, method and status code.",
            ("route", "method", "code"))
        self.http_duration = self.registry.histogram(
            "http_request_duration_seconds", "Time to answer an HTTP request, by route.",
            ("route",))
{{#api}}
        self.greet = greet
{{/api}}
        # start-up phase, shown by /readyz: starting, migrate, ready, failed
        self.phase = "starting"
        self.stopping = threading.Event()
        # liveness beyond "the HTTP loop answers", e.g. the worker thread
        self.alive: Callable[[], bool] = lambda: True

    def ready(self) -> bool:
        return self.phase == "ready" and not self.stopping.is_set()

    def start(self, retry_seconds: float = 1.0) -> bool:
        """The start-up phases; /readyz says 200 once they are done. True
        when ready, False when start-up cannot succeed or was stopped."""
{{#db}}
        self.phase = "migrate"
        delay = retry_seconds
        while not self.stopping.is_set():
            try:
                applied = db.migrate(self.config.database_url, self.log)
                self.log.info("migrations done", extra={"fields": {"applied": applied}})
                break
            except db.NotConfigured as exc:
                # the environment will not change: stay alive and not ready
                self.phase = "failed"
                self.log.error(f"not ready: {exc}")
                return False
            except Exception:
                # the database may still be starting: try again, 1 s to 30 s apart
                self.log.exception("migration failed; retrying",
                                   extra={"fields": {"retry_in_seconds": delay}})
                self.stopping.wait(delay)
                delay = min(delay * 2, 30.0)
        if self.stopping.is_set():
            return False
{{/db}}
        self.phase = "ready"
        self.log.info("ready")
        return True


class Handler(BaseHTTPRequestHandler):
    """One request. HTTP/1.0, so a connection never outlives its request and
    shutdown waits for in-flight requests only."""

    app: App  # set by make_server on a subclass
    server_version = "{{service.name}}"
    sys_version = ""
    timeout = 30  # seconds a slow client may take to send its request

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        # unknown paths share one label: a scanner cannot blow up the series
        route = url.path if url.path in ROUTES else "other"
        if route in QUIET_ROUTES:
            self._send(*self._route(method, route, url.query))
            return
        app = self.app
        start = time.monotonic()
        with app.tracer.span(f"{method} {route}", parent=tracing.extract(self.headers),
                             kind="server", attributes={
                                 "http.request.method": method,
                                 "http.route": route,
                                 "url.path": url.path}) as span:
            try:
                code, body, ctype = self._route(method, route, url.query)
            except Exception:
                app.log.exception("request failed")
                code, body, ctype = _json(500, {"error": "internal error"})
            span.set_attribute("http.response.status_code", code)
            if code >= 500:
                span.set_error(f"status {code}")
            elapsed = time.monotonic() - start
            app.log.info("request", extra={"fields": {
                "method": method, "route": route, "code": code,
                "duration_seconds": round(elapsed, 6)}})
        # counted, logged and the span ended before the answer goes out: a
        # client holding the answer finds the request in /metrics
        app.http_requests.inc(route=route, method=method, code=str(code))
        app.http_duration.observe(elapsed, route=route)
        self._send(code, body, ctype)

    def _route(self, method: str, route: str, query: str) -> Tuple[int, bytes, str]:
        app = self.app
        if method == "POST":
            return _json(405, {"error": "method not allowed"})
        if route == "/healthz":
            if not app.alive():
                return _json(503, {"status": "dead"})
            return _json(200, {"status": "ok"})
        if route == "/readyz":
            if app.ready():
                return _json(200, {"status": "ready"})
            phase = "stopping" if app.stopping.is_set() else app.phase
            return _json(503, {"status": "not ready", "phase": phase})
        if route == "/metrics":
            return 200, app.registry.render().encode(), metrics.CONTENT_TYPE
{{#api}}
        if route == "/hello":
            name = parse_qs(query).get("name", ["world"])[0] or "world"
            if len(name) > MAX_NAME:
                return _json(400, {"error": f"name is longer than {MAX_NAME} characters"})
            span = tracing.current_span()
            return _json(200, {"message": app.greet(name),
                               "trace_id": span.context.trace_id if span else ""})
{{/api}}
        return _json(404, {"error": "not found"})

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        # http.server's own lines (bad request lines, timeouts) as JSON
        self.app.log.debug(format % args)


def _json(code: int, doc: Dict[str, object]) -> Tuple[int, bytes, str]:
    return code, json.dumps(doc).encode(), "application/json"


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer whose shutdown waits for the requests in flight
    (graceful) and whose errors are log lines, not stderr tracebacks."""

    daemon_threads = False
    block_on_close = True
    app: App

    def handle_error(self, request: object, client_address: object) -> None:
        # a client that went away mid-answer, mostly
        self.app.log.warning("connection error", exc_info=True)


def make_server(app: App, port: int, host: str = "") -> Server:
    """A server for app on port (0: any free port, for tests). Not started."""
    handler = type("BoundHandler", (Handler,), {"app": app})
    server = Server((host, port), handler)
    server.app = app
    return server


def serve(app: App, server: Server) -> threading.Thread:
    """Serves in a background thread and runs start-up in another, so that
    /healthz answers (and the startup probe passes) during migrations."""
    # shutdown() waits up to poll_interval for the loop to notice
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="http",
                              daemon=True)
    thread.start()
    app.log.info("listening", extra={"fields": {"port": server.server_address[1]}})
    threading.Thread(target=app.start, name="startup", daemon=True).start()
    return thread


def stop(app: App, server: Server) -> None:
    """Graceful stop: /readyz says 503, no new connections, requests in
    flight finish."""
    app.stopping.set()
    server.shutdown()
    server.server_close()
{{#api}}


def run(config: Config, log: logging.Logger, stop_requested: threading.Event,
        drain_seconds: Optional[float] = None) -> int:
    """The api until stop_requested is set (SIGTERM), then DRAIN_SECONDS
    more with /readyz failing; its exit status."""
    app = App(config, log)
    server = make_server(app, config.port)
    serve(app, server)
    while not stop_requested.is_set():
        # polling, not wait(): a signal handler may not take the lock that
        # Event.wait() holds
        time.sleep(0.1)
    drain = DRAIN_SECONDS if drain_seconds is None else drain_seconds
    log.info("stopping: draining", extra={"fields": {"drain_seconds": drain}})
    app.stopping.set()
    time.sleep(drain)
    stop(app, server)
    log.info("stopped")
    return 0
{{/api}}

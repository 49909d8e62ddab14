"""What the tests share: a list exporter, a log capture, a server on a free
port and a downstream service that records the headers it is sent."""
import io
import json
import logging
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple

from app import logs
from app.config import Config


class ListExporter:
    """Keeps finished spans instead of logging them."""

    def __init__(self) -> None:
        self.spans: List[object] = []

    def export(self, span: object) -> None:
        self.spans.append(span)


def capture_logs() -> Tuple[logging.Logger, io.StringIO]:
    """The service's logger writing JSON lines into a buffer (call
    restore_logs() in tearDown)."""
    buf = io.StringIO()
    return logs.setup("test-service", "debug", buf), buf


def restore_logs() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def log_lines(buf: io.StringIO) -> List[Dict[str, object]]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line]


def config(**changes: object) -> Config:
    values = {"port": 0}
    values.update(changes)
    return Config(**values)  # type: ignore[arg-type]


def get(url: str, headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], bytes]:
    """GET url: (status, headers, body), also for 4xx and 5xx answers."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class Downstream:
    """Another service: answers 200 "ok" and records each request's headers."""

    def __init__(self) -> None:
        seen: List[Dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                seen.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.seen = seen
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

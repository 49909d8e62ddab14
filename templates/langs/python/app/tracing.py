"""Tracing: W3C Trace Context propagation and OpenTelemetry-shaped spans.

Standard library only (the service builds offline), following
OpenTelemetry's data model:
- an incoming `traceparent` header (W3C Trace Context, version 00:
  `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`) is continued:
  the request's span has the same trace id and the caller's span as its
  parent; a missing, malformed or all-zero one starts a new trace;
- one span per request or job (Tracer.span), current for the code it runs
  (a contextvar, so each thread and task has its own);
- outgoing HTTP requests carry the current span's `traceparent` (and the
  incoming `tracestate`): use Tracer.urlopen, or inject() for another
  client;
- logs carry trace_id and span_id (logs.py reads current_span());
- finished spans are exported as JSON log lines ({"msg": "span", ...}),
  each span in OTLP/JSON's shape.

OTLP: when OTEL_EXPORTER_OTLP_ENDPOINT is set, spans still go to the log.
The upgrade path is an exporter with the same `export(span)` method that
batches span.to_otlp() dicts into OTLP/HTTP JSON
({"resourceSpans": [{"resource": {...service.name...}, "scopeSpans":
[{"spans": [...]}]}]}) and POSTs them to <endpoint>/v1/traces from a
background thread; or, once the image may install packages, the
opentelemetry-sdk with its W3C propagator, which reads the same header.

Never raises on a bad header and never sends spans anywhere by itself.
"""
import contextlib
import contextvars
import logging
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
SAMPLED = 0x01
_HEX = frozenset("0123456789abcdef")
# OTLP's SpanKind numbers
_KINDS = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}


@dataclass(frozen=True)
class SpanContext:
    """What crosses a process boundary: ids, flags and vendors' state."""

    trace_id: str  # 32 lowercase hex digits, not all zero
    span_id: str  # 16 lowercase hex digits, not all zero
    flags: int = SAMPLED
    state: str = ""  # the tracestate header, passed on unchanged

    @property
    def sampled(self) -> bool:
        return bool(self.flags & SAMPLED)


def _is_id(text: str, length: int) -> bool:
    return (len(text) == length and all(c in _HEX for c in text)
            and text != "0" * length)


def parse_traceparent(value: Optional[str], state: str = "") -> Optional[SpanContext]:
    """The SpanContext of a traceparent header, or None when it is not a
    valid one (then the caller starts a new trace)."""
    if not isinstance(value, str):
        return None
    value = value.strip(" \t")
    # version 00 is exactly 55 characters; a later version may append
    # fields after a '-', and is read as far as version 00 goes
    if len(value) < 55 or value[2] != "-" or value[35] != "-" or value[52] != "-":
        return None
    version, trace_id, span_id, flags = value[:2], value[3:35], value[36:52], value[53:55]
    if len(version) != 2 or not all(c in _HEX for c in version) or version == "ff":
        return None
    if version == "00" and len(value) != 55:
        return None
    if len(value) > 55 and value[55] != "-":
        return None
    if not _is_id(trace_id, 32) or not _is_id(span_id, 16):
        return None
    if not all(c in _HEX for c in flags):
        return None
    return SpanContext(trace_id, span_id, int(flags, 16), _clean_state(state))


def format_traceparent(ctx: SpanContext) -> str:
    # only the flag this implementation knows is passed on (version 00)
    return f"00-{ctx.trace_id}-{ctx.span_id}-{ctx.flags & SAMPLED:02x}"


def _clean_state(state: Optional[str]) -> str:
    # passed on as received, but never a header that could split lines
    if not state or len(state) > 512:
        return ""
    if any(ord(c) < 0x20 or ord(c) > 0x7e for c in state):
        return ""
    return state.strip(" \t")


def extract(headers: Any) -> Optional[SpanContext]:
    """The caller's SpanContext from request headers (an http.server
    message, an email.message.Message or a dict), or None. Two traceparent
    headers are invalid (W3C): a new trace starts."""
    if headers is None:
        return None
    get_all = getattr(headers, "get_all", None)
    if get_all is not None:
        values = get_all(TRACEPARENT) or []
        states = get_all(TRACESTATE) or []
    else:
        lower = {str(k).lower(): v for k, v in dict(headers).items()}
        values = [lower[TRACEPARENT]] if TRACEPARENT in lower else []
        states = [lower[TRACESTATE]] if TRACESTATE in lower else []
    if len(values) != 1:
        return None
    # several tracestate headers are one list (RFC 9110 field combining)
    return parse_traceparent(values[0], ",".join(states))


def _new_id(nbytes: int) -> str:
    while True:
        value = os.urandom(nbytes).hex()
        if value != "0" * (2 * nbytes):
            return value


class Span:
    """One operation: a request handled, a job processed, a call made."""

    def __init__(self, tracer: "Tracer", name: str, context: SpanContext,
                 parent_id: str, kind: str, attributes: Dict[str, Any]) -> None:
        self.tracer = tracer
        self.name = name
        self.context = context
        self.parent_id = parent_id
        self.kind = kind
        self.attributes = dict(attributes)
        self.start_ns = time.time_ns()
        self.end_ns = 0
        self.error = ""  # set: status ERROR with this message

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def set_error(self, message: str) -> None:
        self.error = message

    def end(self) -> None:
        if self.end_ns == 0:
            self.end_ns = time.time_ns()
            self.tracer.export(self)

    @property
    def duration_seconds(self) -> float:
        end = self.end_ns or time.time_ns()
        return (end - self.start_ns) / 1e9

    def to_otlp(self) -> Dict[str, Any]:
        """The span as OTLP/JSON's Span message (ids as hex, times as
        strings of nanoseconds)."""
        attributes = []
        for key, value in self.attributes.items():
            if isinstance(value, bool):
                typed = {"boolValue": value}
            elif isinstance(value, int):
                typed = {"intValue": str(value)}
            elif isinstance(value, float):
                typed = {"doubleValue": value}
            else:
                typed = {"stringValue": str(value)}
            attributes.append({"key": key, "value": typed})
        out = {
            "traceId": self.context.trace_id,
            "spanId": self.context.span_id,
            "name": self.name,
            "kind": _KINDS.get(self.kind, 1),
            "startTimeUnixNano": str(self.start_ns),
            "endTimeUnixNano": str(self.end_ns),
            "attributes": attributes,
            # STATUS_CODE_ERROR 2, STATUS_CODE_UNSET 0
            "status": {"code": 2, "message": self.error} if self.error else {"code": 0},
        }
        if self.parent_id:
            out["parentSpanId"] = self.parent_id
        if self.context.state:
            out["traceState"] = self.context.state
        return out


_current: contextvars.ContextVar[Optional[Span]] = contextvars.ContextVar(
    "current_span", default=None)
_FROM_CURRENT: Any = object()  # the default parent: the current span


def current_span() -> Optional[Span]:
    return _current.get()


class LogExporter:
    """Exports each finished, sampled span as a JSON log line."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def export(self, span: Span) -> None:
        self.logger.info("span", extra={"fields": {
            "trace_id": span.context.trace_id,
            "span_id": span.context.span_id,
            "span": span.to_otlp(),
        }})


class Tracer:
    """Starts spans for one service and hands finished ones to an exporter
    (anything with export(span))."""

    def __init__(self, service: str, exporter: Any) -> None:
        self.service = service
        self.exporter = exporter

    def export(self, span: Span) -> None:
        if span.context.sampled and self.exporter is not None:
            self.exporter.export(span)

    @contextlib.contextmanager
    def span(self, name: str, parent: Optional[SpanContext] = _FROM_CURRENT,
             kind: str = "internal",
             attributes: Optional[Dict[str, Any]] = None) -> Iterator[Span]:
        """A span current for the block, ended (exported) after it. The
        parent is the current span by default; pass the extract()ed
        SpanContext of a request or job, or None to start a new trace. An
        exception escaping the block marks the span as an error."""
        if parent is _FROM_CURRENT:
            cur = _current.get()
            parent = cur.context if cur is not None else None
        if parent is None:
            ctx = SpanContext(_new_id(16), _new_id(8), SAMPLED)
            parent_id = ""
        else:
            ctx = SpanContext(parent.trace_id, _new_id(8), parent.flags, parent.state)
            parent_id = parent.span_id
        span = Span(self, name, ctx, parent_id, kind, attributes or {})
        token = _current.set(span)
        try:
            yield span
        except BaseException as exc:
            if not span.error:
                span.set_error(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            _current.reset(token)
            span.end()

    def urlopen(self, request: Any, data: Optional[bytes] = None,
                timeout: float = 10.0) -> Any:
        """urllib.request.urlopen in a client span whose traceparent goes
        on the request: the called service continues this trace."""
        if not isinstance(request, urllib.request.Request):
            request = urllib.request.Request(request, data=data)
        method = request.get_method()
        with self.span(method, kind="client", attributes={
                "http.request.method": method,
                "url.full": request.full_url}) as span:
            inject(request)
            try:
                response = urllib.request.urlopen(request, timeout=timeout)
            except urllib.error.HTTPError as exc:
                span.set_attribute("http.response.status_code", exc.code)
                raise
            span.set_attribute("http.response.status_code", response.status)
            return response


def inject(carrier: Any) -> None:
    """Puts the current span's traceparent (and tracestate) on an outgoing
    request: a urllib.request.Request or a dict of headers. Without a
    current span nothing is added."""
    span = _current.get()
    if span is None:
        return
    headers = {TRACEPARENT: format_traceparent(span.context)}
    if span.context.state:
        headers[TRACESTATE] = span.context.state
    for key, value in headers.items():
        if isinstance(carrier, urllib.request.Request):
            carrier.add_header(key, value)
        else:
            carrier[key] = value

"""W3C Trace Context: parsing, formatting, and propagation from an incoming
traceparent to the outgoing one (same trace id, new parent id)."""
import json
import unittest
import urllib.request

from app import tracing
from tests import support

# the example of the W3C Trace Context recommendation
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
INCOMING = f"00-{TRACE}-{PARENT}-01"


class ParseTest(unittest.TestCase):
    def test_valid(self) -> None:
        ctx = tracing.parse_traceparent(INCOMING)
        self.assertIsNotNone(ctx)
        assert ctx is not None
        self.assertEqual(ctx.trace_id, TRACE)
        self.assertEqual(ctx.span_id, PARENT)
        self.assertEqual(ctx.flags, 1)
        self.assertTrue(ctx.sampled)
        self.assertEqual(tracing.format_traceparent(ctx), INCOMING)

    def test_not_sampled_round_trip(self) -> None:
        value = f"00-{TRACE}-{PARENT}-00"
        ctx = tracing.parse_traceparent(value)
        assert ctx is not None
        self.assertFalse(ctx.sampled)
        self.assertEqual(tracing.format_traceparent(ctx), value)

    def test_later_version_read_as_00(self) -> None:
        ctx = tracing.parse_traceparent(f"cc-{TRACE}-{PARENT}-01-what-comes-next")
        assert ctx is not None
        self.assertEqual(ctx.trace_id, TRACE)
        # what goes out is version 00
        self.assertTrue(tracing.format_traceparent(ctx).startswith("00-"))

    def test_invalid(self) -> None:
        for value in [
            None, "", "garbage", INCOMING[:-1], INCOMING + "0", INCOMING + "-x",
            INCOMING.upper(),
            f"00-{'0' * 32}-{PARENT}-01",  # all-zero trace id
            f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
            f"ff-{TRACE}-{PARENT}-01",  # forbidden version
            f"0x-{TRACE}-{PARENT}-01",
            f"00-{TRACE}-{PARENT}-zz",
            f"00_{TRACE}_{PARENT}_01",
            f"00-{TRACE[:-1]}g-{PARENT}-01",
            f"cc-{TRACE}-{PARENT}-01x",
        ]:
            with self.subTest(value=value):
                self.assertIsNone(tracing.parse_traceparent(value))

    def test_extract(self) -> None:
        ctx = tracing.extract({"TraceParent": INCOMING, "tracestate": "vendor=1"})
        assert ctx is not None
        self.assertEqual((ctx.trace_id, ctx.state), (TRACE, "vendor=1"))
        self.assertIsNone(tracing.extract({}))
        self.assertIsNone(tracing.extract(None))


class PropagationTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log, self.buf = support.capture_logs()
        self.exporter = support.ListExporter()
        self.tracer = tracing.Tracer("test-service", self.exporter)

    def tearDown(self) -> None:
        support.restore_logs()

    def test_continues_incoming_trace(self) -> None:
        parent = tracing.extract({"traceparent": INCOMING})
        with self.tracer.span("GET /x", parent=parent, kind="server") as span:
            request = urllib.request.Request("http://example.invalid/")
            tracing.inject(request)
            outgoing = request.get_header("Traceparent")
        self.assertEqual(span.context.trace_id, TRACE)
        self.assertEqual(span.parent_id, PARENT)
        self.assertNotEqual(span.context.span_id, PARENT)
        out = tracing.parse_traceparent(outgoing)
        assert out is not None
        self.assertEqual(out.trace_id, TRACE)
        self.assertEqual(out.span_id, span.context.span_id)
        self.assertEqual(self.exporter.spans, [span])

    def test_invalid_incoming_starts_new_trace(self) -> None:
        parent = tracing.extract({"traceparent": f"00-{'0' * 32}-{PARENT}-01"})
        self.assertIsNone(parent)
        with self.tracer.span("GET /x", parent=parent) as span:
            headers: dict = {}
            tracing.inject(headers)
        self.assertNotEqual(span.context.trace_id, TRACE)
        self.assertEqual(span.parent_id, "")
        self.assertRegex(headers["traceparent"], r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")
        self.assertIn(span.context.trace_id, headers["traceparent"])

    def test_no_span_no_header(self) -> None:
        headers: dict = {}
        tracing.inject(headers)
        self.assertEqual(headers, {})

    def test_child_span_and_tracestate(self) -> None:
        parent = tracing.extract({"traceparent": INCOMING, "tracestate": "vendor=1"})
        with self.tracer.span("outer", parent=parent) as outer:
            with self.tracer.span("inner") as inner:
                headers: dict = {}
                tracing.inject(headers)
        self.assertEqual(inner.parent_id, outer.context.span_id)
        self.assertEqual(inner.context.trace_id, TRACE)
        self.assertEqual(headers["tracestate"], "vendor=1")
        self.assertIsNone(tracing.current_span())

    def test_urlopen_carries_traceparent(self) -> None:
        downstream = support.Downstream()
        try:
            parent = tracing.extract({"traceparent": INCOMING})
            with self.tracer.span("GET /x", parent=parent, kind="server") as server_span:
                with self.tracer.urlopen(downstream.url, timeout=5) as response:
                    self.assertEqual(response.read(), b"ok")
        finally:
            downstream.close()
        sent = tracing.parse_traceparent(downstream.seen[0]["traceparent"])
        assert sent is not None
        self.assertEqual(sent.trace_id, TRACE)
        self.assertNotIn(sent.span_id, (PARENT, server_span.context.span_id))
        client = self.exporter.spans[0]
        self.assertEqual(client.kind, "client")
        self.assertEqual(sent.span_id, client.context.span_id)
        self.assertEqual(client.parent_id, server_span.context.span_id)
        self.assertEqual(client.attributes["http.response.status_code"], 200)

    def test_error_marks_span(self) -> None:
        with self.assertRaises(RuntimeError):
            with self.tracer.span("boom"):
                raise RuntimeError("no")
        self.assertEqual(self.exporter.spans[0].error, "RuntimeError: no")
        self.assertEqual(self.exporter.spans[0].to_otlp()["status"]["code"], 2)

    def test_log_exporter_and_log_ids(self) -> None:
        tracer = tracing.Tracer("test-service", tracing.LogExporter(self.log))
        parent = tracing.extract({"traceparent": INCOMING})
        with tracer.span("work", parent=parent, attributes={"n": 3}) as span:
            self.log.info("inside")
        self.log.info("outside")
        lines = support.log_lines(self.buf)
        inside, exported, outside = lines
        self.assertEqual(inside["msg"], "inside")
        self.assertEqual(inside["trace_id"], TRACE)
        self.assertEqual(inside["span_id"], span.context.span_id)
        self.assertEqual(inside["service"], "test-service")
        self.assertNotIn("trace_id", outside)
        self.assertEqual(exported["msg"], "span")
        otlp = exported["span"]
        self.assertEqual(otlp["traceId"], TRACE)
        self.assertEqual(otlp["parentSpanId"], PARENT)
        self.assertEqual(otlp["attributes"], [{"key": "n", "value": {"intValue": "3"}}])
        self.assertGreaterEqual(int(otlp["endTimeUnixNano"]), int(otlp["startTimeUnixNano"]))
        json.dumps(otlp)  # plain JSON: ready for an OTLP/HTTP exporter

    def test_unsampled_not_exported(self) -> None:
        parent = tracing.parse_traceparent(f"00-{TRACE}-{PARENT}-00")
        with self.tracer.span("quiet", parent=parent):
            pass
        self.assertEqual(self.exporter.spans, [])


if __name__ == "__main__":
    unittest.main()

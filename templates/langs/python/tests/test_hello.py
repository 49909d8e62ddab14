{{#api}}
"""GET /hello: the answer, the access log, and the trace carried from the
incoming traceparent to a call the handler makes."""
import json
import unittest

from app import server, tracing
from tests import support

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE}-00f067aa0ba902b7-01"


class HelloTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log, self.buf = support.capture_logs()
        self.exporter = support.ListExporter()

    def tearDown(self) -> None:
        support.restore_logs()

    def serve(self, app: server.App) -> str:
        http = server.make_server(app, 0, "127.0.0.1")
        server.serve(app, http)
        self.addCleanup(server.stop, app, http)
        return f"http://127.0.0.1:{http.server_address[1]}"

    def test_hello(self) -> None:
        base = self.serve(server.App(support.config(), self.log, self.exporter))
        code, headers, body = support.get(base + "/hello?name=ada")
        self.assertEqual(code, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        doc = json.loads(body)
        self.assertEqual(doc["message"], "hello, ada")
        self.assertRegex(doc["trace_id"], "^[0-9a-f]{32}$")
        code, _, body = support.get(base + "/hello")
        self.assertEqual((code, json.loads(body)["message"]), (200, "hello, world"))
        code, _, body = support.get(base + "/hello?name=%22%3Cb%3E")
        self.assertEqual(json.loads(body)["message"], 'hello, "<b>')

    def test_name_too_long(self) -> None:
        base = self.serve(server.App(support.config(), self.log, self.exporter))
        code, _, _ = support.get(base + "/hello?name=" + "x" * 101)
        self.assertEqual(code, 400)

    def test_handler_error_is_500_and_logged(self) -> None:
        def broken(name: str) -> str:
            raise RuntimeError("broken greeter")

        app = server.App(support.config(), self.log, self.exporter, greet=broken)
        base = self.serve(app)
        self.assertEqual(support.get(base + "/hello")[0], 500)
        self.assertEqual(app.http_requests.value(route="/hello", method="GET", code="500"), 1)
        self.assertEqual(self.exporter.spans[-1].error, "status 500")

    def test_traceparent_propagates_to_outgoing_call(self) -> None:
        downstream = support.Downstream()
        self.addCleanup(downstream.close)
        app: server.App

        def greet_via_downstream(name: str) -> str:
            with app.tracer.urlopen(downstream.url, timeout=5) as response:
                return f"hello, {name} ({response.read().decode()})"

        app = server.App(support.config(), self.log, self.exporter, greet=greet_via_downstream)
        base = self.serve(app)
        code, _, body = support.get(base + "/hello?name=ada", {"traceparent": INCOMING})
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body), {"message": "hello, ada (ok)", "trace_id": TRACE})
        sent = tracing.parse_traceparent(downstream.seen[0]["traceparent"])
        assert sent is not None
        self.assertEqual(sent.trace_id, TRACE)  # the same trace...
        self.assertNotEqual(sent.span_id, "00f067aa0ba902b7")  # ...a new parent
        server_span = next(s for s in self.exporter.spans if s.kind == "server")
        client_span = next(s for s in self.exporter.spans if s.kind == "client")
        self.assertEqual(server_span.parent_id, "00f067aa0ba902b7")
        self.assertEqual(client_span.parent_id, server_span.context.span_id)
        self.assertEqual(sent.span_id, client_span.context.span_id)
        # the access log line carries the trace
        access = [line for line in support.log_lines(self.buf) if line["msg"] == "request"]
        self.assertEqual(access[0]["trace_id"], TRACE)
        self.assertEqual(access[0]["route"], "/hello")
        self.assertEqual(access[0]["code"], 200)

    def test_invalid_traceparent_starts_new_trace(self) -> None:
        base = self.serve(server.App(support.config(), self.log, self.exporter))
        bad = f"00-{'0' * 32}-00f067aa0ba902b7-01"
        code, _, body = support.get(base + "/hello", {"traceparent": bad})
        self.assertEqual(code, 200)
        trace_id = json.loads(body)["trace_id"]
        self.assertRegex(trace_id, "^[0-9a-f]{32}$")
        self.assertNotEqual(trace_id, "0" * 32)
        self.assertEqual(self.exporter.spans[-1].parent_id, "")


if __name__ == "__main__":
    unittest.main()
{{/api}}

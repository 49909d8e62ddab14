{{#worker}}
"""The worker loop: jobs processed and acknowledged, failures counted and
survived, the producer's trace continued, a clean stop."""
import threading
import time
import unittest

from app import server, tracing, worker
from tests import support

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE}-00f067aa0ba902b7-01"


class WorkerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log, self.buf = support.capture_logs()
        self.exporter = support.ListExporter()
        self.app = server.App(support.config(), self.log, self.exporter)
        self.source = worker.MemorySource()

    def tearDown(self) -> None:
        support.restore_logs()

    def test_processes_and_counts(self) -> None:
        done = []

        def process(job: worker.Job, app: server.App) -> None:
            if job.payload == b"bad":
                raise ValueError("cannot do bad")
            done.append(job.id)

        w = worker.Worker(self.app, self.source, process, poll_seconds=0.01)
        for i, payload in enumerate([b"a", b"bad", b"c"]):
            self.source.put(worker.Job(str(i), payload))
        self.assertEqual(w.source.depth(), 3)
        self.assertTrue(w.run_once())
        self.assertEqual(w.depth.value(), 2)
        self.assertTrue(w.run_once())
        self.assertTrue(w.run_once())
        self.assertFalse(w.run_once())  # nothing left
        self.assertEqual(done, ["0", "2"])
        self.assertEqual(list(self.source.acked), ["0", "1", "2"])  # failed too
        self.assertEqual(w.processed.value(outcome="ok"), 2)
        self.assertEqual(w.processed.value(outcome="error"), 1)
        self.assertEqual(w.duration.count(), 3)
        self.assertEqual(w.depth.value(), 0)
        failed = [line for line in support.log_lines(self.buf) if line["msg"] == "job failed"]
        self.assertEqual(failed[0]["job_id"], "1")
        self.assertIn("cannot do bad", failed[0]["error"])
        errors = [span.error for span in self.exporter.spans]
        self.assertEqual(errors.count("ValueError: cannot do bad"), 1)

    def test_default_process_logs(self) -> None:
        w = worker.Worker(self.app, self.source, poll_seconds=0.01)
        self.source.put(worker.Job("j1", b"hello"))
        self.assertTrue(w.run_once())
        self.assertEqual(w.processed.value(outcome="ok"), 1)
        lines = [line for line in support.log_lines(self.buf) if line["msg"] == "job processed"]
        self.assertEqual(lines[0]["job_id"], "j1")
        self.assertRegex(str(lines[0]["trace_id"]), "^[0-9a-f]{32}$")

    def test_job_continues_producer_trace(self) -> None:
        downstream = support.Downstream()
        self.addCleanup(downstream.close)

        def process(job: worker.Job, app: server.App) -> None:
            with app.tracer.urlopen(downstream.url, timeout=5) as response:
                response.read()

        w = worker.Worker(self.app, self.source, process, poll_seconds=0.01)
        self.source.put(worker.Job("t", b"", {"traceparent": INCOMING}))
        self.assertTrue(w.run_once())
        sent = tracing.parse_traceparent(downstream.seen[0]["traceparent"])
        assert sent is not None
        self.assertEqual(sent.trace_id, TRACE)
        self.assertNotEqual(sent.span_id, "00f067aa0ba902b7")
        job_span = next(s for s in self.exporter.spans if s.kind == "consumer")
        self.assertEqual(job_span.parent_id, "00f067aa0ba902b7")
        self.assertEqual(job_span.context.trace_id, TRACE)

    def test_loop_runs_until_stopped(self) -> None:
        w = worker.Worker(self.app, self.source, poll_seconds=0.01)
        loop = threading.Thread(target=w.run, daemon=True)
        loop.start()
        for i in range(5):
            self.source.put(worker.Job(str(i), b"x"))
        deadline = time.monotonic() + 5
        while w.processed.value(outcome="ok") < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        w.stop()
        loop.join(5)
        self.assertFalse(loop.is_alive())
        self.assertEqual(w.processed.value(outcome="ok"), 5)

    def test_source_is_memory_by_default(self) -> None:
        source = worker.make_source(support.config(), self.log)
        self.assertIsInstance(source, worker.MemorySource)
{{#queue}}

    def test_kafka_source_refuses_to_start_until_wired(self) -> None:
        with self.assertRaises(NotImplementedError):
            worker.make_source(support.config(kafka_brokers="kafka:9092"), self.log)
{{/queue}}


if __name__ == "__main__":
    unittest.main()
{{/worker}}

"""Prometheus text format and the platform's metric names (the dashboard
and the alerts query these names: a rename breaks them)."""
import unittest

from app import metrics
{{#cron}}
from app import cron
{{/cron}}
{{^cron}}
from app import server
{{/cron}}
{{#worker}}
from app import worker
{{/worker}}
from tests import support


class FormatTest(unittest.TestCase):
    def test_counter_and_escaping(self) -> None:
        registry = metrics.Registry()
        counter = registry.counter("things_total", "Things.\nCounted.", ("kind",))
        counter.inc(kind='a"b\\c\nd')
        counter.inc(2, kind="plain")
        text = registry.render()
        self.assertIn("# HELP things_total Things.\\nCounted.\n", text)
        self.assertIn("# TYPE things_total counter\n", text)
        self.assertIn('things_total{kind="a\\"b\\\\c\\nd"} 1\n', text)
        self.assertIn('things_total{kind="plain"} 2\n', text)
        with self.assertRaises(ValueError):
            counter.inc(-1, kind="plain")
        with self.assertRaises(ValueError):
            counter.inc(other="x")

    def test_gauge(self) -> None:
        registry = metrics.Registry()
        gauge = registry.gauge("depth", "Depth.")
        gauge.set(3)
        gauge.inc(-1.5)
        self.assertIn("# TYPE depth gauge\ndepth 1.5\n", registry.render())

    def test_histogram_buckets_are_cumulative(self) -> None:
        registry = metrics.Registry()
        hist = registry.histogram("latency_seconds", "Latency.", ("route",))
        for value in (0.003, 0.3, 0.7, 42.0):
            hist.observe(value, route="/x")
        text = registry.render()
        self.assertIn('latency_seconds_bucket{route="/x",le="0.005"} 1\n', text)
        self.assertIn('latency_seconds_bucket{route="/x",le="0.5"} 2\n', text)
        self.assertIn('latency_seconds_bucket{route="/x",le="1"} 3\n', text)
        self.assertIn('latency_seconds_bucket{route="/x",le="10"} 3\n', text)
        self.assertIn('latency_seconds_bucket{route="/x",le="+Inf"} 4\n', text)
        self.assertIn('latency_seconds_count{route="/x"} 4\n', text)
        self.assertIn('latency_seconds_sum{route="/x"} 43.003\n', text)
        self.assertEqual(hist.count(route="/x"), 4)

    def test_names_unique(self) -> None:
        registry = metrics.Registry()
        registry.counter("x_total", "X.")
        with self.assertRaises(ValueError):
            registry.gauge("x_total", "X again.")

    def test_0_5_is_a_default_bucket(self) -> None:
        # the p99 > 500 ms alert reads the le="0.5" bucket
        self.assertIn(0.5, metrics.DEFAULT_BUCKETS)


class NamesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log, self.buf = support.capture_logs()

    def tearDown(self) -> None:
        support.restore_logs()
{{^cron}}

    def scrape(self, app: server.App) -> str:
        http = server.make_server(app, 0, "127.0.0.1")
        server.serve(app, http)
        try:
            port = http.server_address[1]
            support.get(f"http://127.0.0.1:{port}/healthz")
            support.get(f"http://127.0.0.1:{port}/readyz")
{{#api}}
            support.get(f"http://127.0.0.1:{port}/hello?name=x")
{{/api}}
            status, headers, body = support.get(f"http://127.0.0.1:{port}/metrics")
        finally:
            server.stop(app, http)
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        return body.decode()
{{/cron}}
{{#api}}

    def test_api_metric_names(self) -> None:
        app = server.App(support.config(), self.log, support.ListExporter())
        text = self.scrape(app)
        self.assertIn("# TYPE http_requests_total counter", text)
        self.assertIn('http_requests_total{route="/hello",method="GET",code="200"} 1\n', text)
        self.assertIn("# TYPE http_request_duration_seconds histogram", text)
        self.assertIn('http_request_duration_seconds_bucket{route="/hello",le="0.5"} ', text)
        self.assertIn('http_request_duration_seconds_count{route="/hello"} 1\n', text)
        # probes and scrapes are not counted: a 503 while starting is no error
        self.assertNotIn('route="/metrics"', text)
        self.assertNotIn('route="/readyz"', text)
        self.assertNotIn('route="/healthz"', text)
{{/api}}
{{#worker}}

    def test_worker_metric_names(self) -> None:
        app = server.App(support.config(), self.log, support.ListExporter())
        source = worker.MemorySource()
        source.put(worker.Job("1", b"x"))
        worker.Worker(app, source, poll_seconds=0.01).run_once()
        text = self.scrape(app)
        self.assertIn("# TYPE worker_jobs_processed_total counter", text)
        self.assertIn('worker_jobs_processed_total{outcome="ok"} 1\n', text)
        self.assertIn('worker_jobs_processed_total{outcome="error"} 0\n', text)
        self.assertIn("# TYPE worker_queue_depth gauge\nworker_queue_depth 0\n", text)
        self.assertIn("# TYPE worker_job_duration_seconds histogram", text)
        self.assertIn('worker_job_duration_seconds_bucket{le="0.5"} 1\n', text)
        self.assertIn("worker_job_duration_seconds_count 1\n", text)
        self.assertIn("# TYPE http_requests_total counter", text)
{{/worker}}
{{#cron}}

    def test_cron_metric_names(self) -> None:
        config = support.config({{#db}}database_url="postgres://db/x"{{/db}})
        status = cron.run(config, self.log, exporter=support.ListExporter())
        self.assertEqual(status, 0)
        last = support.log_lines(self.buf)[-1]
        self.assertEqual(last["msg"], "run finished")
        text = str(last["metrics"])
        self.assertIn("# TYPE cron_job_duration_seconds gauge\ncron_job_duration_seconds ", text)
        self.assertIn("# TYPE cron_job_last_success_timestamp_seconds gauge\n"
                      "cron_job_last_success_timestamp_seconds ", text)
{{/cron}}


if __name__ == "__main__":
    unittest.main()

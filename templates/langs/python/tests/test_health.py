{{^cron}}
"""/healthz is liveness (the process serves), /readyz readiness (start-up
{{#db}}
and migrations {{/db}}done, not stopping): their semantics are what the probes in
k8s/deployment.yaml rely on."""
import json
import threading
import time
import unittest
{{#db}}
from unittest import mock

from app import db
{{/db}}
from app import server
from tests import support
{{#db}}

DATABASE_URL = "postgres://db/{{service.ident}}"
{{/db}}


class HealthTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log, self.buf = support.capture_logs()

    def tearDown(self) -> None:
        support.restore_logs()

    def start(self, **config: object) -> server.App:
        """An App served on a free port, start-up not yet run."""
        app = server.App(support.config(**config), self.log, support.ListExporter())
        self.http = server.make_server(app, 0, "127.0.0.1")
        self.base = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()
        self.addCleanup(self.http.server_close)
        self.addCleanup(self.http.shutdown)
        return app

    def status(self, path: str) -> int:
        return support.get(self.base + path)[0]

    def test_not_ready_until_started(self) -> None:
        app = self.start({{#db}}database_url=DATABASE_URL{{/db}})
        self.assertEqual(self.status("/healthz"), 200)
        code, _, body = support.get(self.base + "/readyz")
        self.assertEqual(code, 503)
        self.assertEqual(json.loads(body)["phase"], "starting")
        self.assertTrue(app.start())
        self.assertEqual(self.status("/readyz"), 200)
        self.assertEqual(self.status("/healthz"), 200)

    def test_not_ready_while_stopping(self) -> None:
        app = self.start({{#db}}database_url=DATABASE_URL{{/db}})
        app.start()
        app.stopping.set()
        code, _, body = support.get(self.base + "/readyz")
        self.assertEqual(code, 503)
        self.assertEqual(json.loads(body)["phase"], "stopping")
        # still alive: liveness must not restart a pod that is draining
        self.assertEqual(self.status("/healthz"), 200)

    def test_liveness_follows_the_loop(self) -> None:
        app = self.start()
        app.alive = lambda: False
        self.assertEqual(self.status("/healthz"), 503)

    def test_unknown_path(self) -> None:
        self.start()
        self.assertEqual(self.status("/nope"), 404)
{{#db}}

    def test_db_not_ready_without_database_url(self) -> None:
        app = self.start(database_url="")
        self.assertFalse(app.start())
        code, _, body = support.get(self.base + "/readyz")
        self.assertEqual(code, 503)
        self.assertEqual(json.loads(body)["phase"], "failed")
        # liveness never depends on the database
        self.assertEqual(self.status("/healthz"), 200)
        self.assertTrue(any("DATABASE_URL is not set" in line["msg"]
                            for line in support.log_lines(self.buf)))

    def test_db_ready_only_after_migrate(self) -> None:
        app = self.start(database_url=DATABASE_URL)
        calls = []

        def slow_then_fail_then_ok(url: str, migrations: object, log: object) -> int:
            calls.append(url)
            # during the migration: alive, not ready
            self.assertEqual(app.phase, "migrate")
            self.assertEqual(self.status("/readyz"), 503)
            self.assertEqual(self.status("/healthz"), 200)
            if len(calls) == 1:
                raise ConnectionError("database is starting")
            return 1

        with mock.patch.object(db, "apply_migrations", slow_then_fail_then_ok):
            self.assertTrue(app.start(retry_seconds=0.01))
        self.assertEqual(calls, [DATABASE_URL] * 2)
        self.assertEqual(self.status("/readyz"), 200)
{{/db}}

{{#api}}
    def test_run_drains_after_stop(self) -> None:
        stop_requested = threading.Event()
        config = support.config({{#db}}database_url=DATABASE_URL{{/db}})
        result = []
        runner = threading.Thread(target=lambda: result.append(
            server.run(config, self.log, stop_requested, drain_seconds=0.5)))
        runner.start()
        self.addCleanup(runner.join, 10)
        self.addCleanup(stop_requested.set)
        base = ""
        for _ in range(200):
            ports = [line["port"] for line in support.log_lines(self.buf)
                     if line["msg"] == "listening"]
            if ports and base == "":
                base = f"http://127.0.0.1:{ports[0]}"
            if base and support.get(base + "/readyz")[0] == 200:
                break
            time.sleep(0.02)
        self.assertEqual(support.get(base + "/readyz")[0], 200)
        stop_requested.set()
        for _ in range(100):
            if support.get(base + "/readyz")[0] == 503:
                break
            time.sleep(0.01)
        # draining: out of the Service, still answering
        self.assertEqual(support.get(base + "/readyz")[0], 503)
        self.assertEqual(support.get(base + "/hello")[0], 200)
        self.assertEqual(support.get(base + "/healthz")[0], 200)
        runner.join(10)
        self.assertEqual(result, [0])
        with self.assertRaises(OSError):
            support.get(base + "/healthz")

{{/api}}
    def test_serve_runs_start_up(self) -> None:
        config = support.config({{#db}}database_url=DATABASE_URL{{/db}})
        app = server.App(config, self.log, support.ListExporter())
        http = server.make_server(app, 0, "127.0.0.1")
        server.serve(app, http)
        try:
            base = f"http://127.0.0.1:{http.server_address[1]}"
            for _ in range(100):
                if support.get(base + "/readyz")[0] == 200:
                    break
                time.sleep(0.02)
            self.assertEqual(support.get(base + "/readyz")[0], 200)
        finally:
            server.stop(app, http)
        self.assertTrue(app.stopping.is_set())


if __name__ == "__main__":
    unittest.main()
{{/cron}}

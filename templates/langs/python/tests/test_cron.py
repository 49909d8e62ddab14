{{#cron}}
"""The cron run's exit status: 0 when the work succeeds, 1 when it fails,
misses its deadline or is terminated."""
import os
import signal
import time
import unittest

from app import cron
from tests import support


class CronTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log, self.buf = support.capture_logs()
        self.exporter = support.ListExporter()

    def tearDown(self) -> None:
        support.restore_logs()

    def run_job(self, work: object, deadline: float = 5.0, **config: object) -> int:
{{#db}}
        config.setdefault("database_url", "postgres://db/cron")
{{/db}}
        return cron.run(support.config(**config), self.log, work=work,  # type: ignore[arg-type]
                        deadline_seconds=deadline, exporter=self.exporter)

    def last_line(self) -> dict:
        return support.log_lines(self.buf)[-1]

    def test_default_job_succeeds(self) -> None:
        self.assertEqual(self.run_job(cron.job), 0)
        self.assertEqual(self.last_line()["status"], "ok")
        self.assertEqual(self.last_line()["exit_code"], 0)
        self.assertEqual(self.exporter.spans[0].error, "")
        self.assertIn("cron_job_last_success_timestamp_seconds 1", self.last_line()["metrics"])

    def test_failure_exits_1(self) -> None:
        def fail(*args: object) -> None:
            raise RuntimeError("upstream said no")

        self.assertEqual(self.run_job(fail), 1)
        line = self.last_line()
        self.assertEqual((line["status"], line["exit_code"]), ("failed", 1))
        # no success: the gauge has no value
        self.assertNotIn("cron_job_last_success_timestamp_seconds 1", line["metrics"])
        self.assertTrue(any("upstream said no" in str(entry.get("error"))
                            for entry in support.log_lines(self.buf)))
        self.assertEqual(self.exporter.spans[0].error, "RuntimeError: upstream said no")

    def test_deadline_checked_by_the_work(self) -> None:
        def slow(config: object, deadline: cron.Deadline, *rest: object) -> None:
            while True:
                time.sleep(0.01)
                deadline.check()

        started = time.monotonic()
        self.assertEqual(self.run_job(slow, deadline=0.1), 1)
        self.assertLess(time.monotonic() - started, 3)

    def test_deadline_enforced_on_work_that_never_checks(self) -> None:
        def stuck(*args: object) -> None:
            time.sleep(10)

        started = time.monotonic()
        self.assertEqual(self.run_job(stuck, deadline=0.2), 1)
        self.assertLess(time.monotonic() - started, 3)
        self.assertTrue(any("deadline of 0.2 s exceeded" in str(line["msg"])
                            for line in support.log_lines(self.buf)))
        # the timer is off again and the handlers are back
        self.assertEqual(signal.getitimer(signal.ITIMER_REAL), (0.0, 0.0))
        self.assertIs(signal.getsignal(signal.SIGALRM), signal.SIG_DFL)

{{#db}}
    def test_without_database_url_exits_1(self) -> None:
        self.assertEqual(self.run_job(cron.job, database_url=""), 1)
        self.assertTrue(any("DATABASE_URL is not set" in str(line["msg"])
                            for line in support.log_lines(self.buf)))

{{/db}}
    def test_sigterm_exits_1(self) -> None:
        def terminated(*args: object) -> None:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)

        self.assertEqual(self.run_job(terminated), 1)
        self.assertTrue(any(line["msg"] == "run stopped by SIGTERM"
                            for line in support.log_lines(self.buf)))


if __name__ == "__main__":
    unittest.main()
{{/cron}}

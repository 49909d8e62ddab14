"""The service's main() as `python3 -m app` runs it in the image: JSON
logs on stdout{{^cron}}, probes answered, a graceful stop on SIGTERM{{/cron}}{{#cron}}, exit status 0{{/cron}}."""
import json
import os
{{^cron}}
import signal
import socket
{{/cron}}
import subprocess
import sys
import unittest
{{^cron}}
import urllib.request
{{/cron}}
from pathlib import Path

from app.config import SERVICE

ROOT = Path(__file__).resolve().parents[1]
{{#db}}
DATABASE_URL = "postgres://db/{{service.ident}}"
{{/db}}


{{#api}}
# `python3 -m app` without the 5 s drain after SIGTERM (test_health
# covers the drain)
MAIN = ["-c", "import sys; from app import server; server.DRAIN_SECONDS = 0.1;"
        " from app.main import main; sys.exit(main())"]
{{/api}}
{{^api}}
MAIN = ["-m", "app"]
{{/api}}


def start(**env: str) -> subprocess.Popen:
    environ = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""),
               "PORT": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    environ.update(env)
    return subprocess.Popen([sys.executable] + MAIN, cwd=ROOT, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class MainTest(unittest.TestCase):
    def test_bad_configuration_exits_2(self) -> None:
        proc = start(PORT="http")
        _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("PORT", err)
{{^cron}}

    def test_port_taken_exits_1_with_a_log_line(self) -> None:
        with socket.socket() as taken:
            taken.bind(("", 0))
            taken.listen()
            proc = start(PORT=str(taken.getsockname()[1]))
            out, _ = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 1)
        last = json.loads(out.splitlines()[-1])
        self.assertEqual((last["level"], last["msg"]), ("error", "failed"))
        self.assertIn("Address already in use", last["error"])

    def test_serves_and_stops_on_sigterm(self) -> None:
        proc = start({{#db}}DATABASE_URL=DATABASE_URL{{/db}})
        try:
            assert proc.stdout is not None
            port = 0
            lines = []
            for raw in proc.stdout:
                lines.append(json.loads(raw))
                if lines[-1]["msg"] == "listening":
                    port = lines[-1]["port"]
                if lines[-1]["msg"] == "ready" and port:
                    break
            self.assertNotEqual(port, 0, lines)
            for path in ("/healthz", "/readyz"):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                    self.assertEqual(r.status, 200)
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0)
        lines += [json.loads(line) for line in out.splitlines()]
        for line in lines:
            self.assertEqual(line["service"], SERVICE)
            self.assertIn(line["level"], ("debug", "info", "warning", "error"))
            self.assertRegex(line["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(lines[-1]["msg"], "stopped")
{{/cron}}
{{#cron}}

    def test_one_run_exits_0(self) -> None:
        proc = start({{#db}}DATABASE_URL=DATABASE_URL{{/db}})
        out, _ = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0)
        lines = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(lines[-1]["msg"], "run finished")
        self.assertTrue(all(line["service"] == SERVICE for line in lines))
{{/cron}}


if __name__ == "__main__":
    unittest.main()

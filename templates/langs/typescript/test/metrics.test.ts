// The Prometheus text format, exactly as Prometheus reads it.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "../src/metrics.js";

test("counters, gauges and histograms render in the text format", () => {
  const r = new Registry();
  const c = r.counter("demo_requests_total", "Requests.\nTwo lines.", ["route", "code"]);
  const g = r.gauge("demo_depth", "Depth.");
  const h = r.histogram("demo_seconds", "Time.", [], [0.1, 0.5, 1]);
  c.inc({ route: "/a", code: "200" });
  c.inc({ route: "/a", code: "200" }, 2);
  c.inc({ route: 'x"y\\z\n', code: "500" });
  g.set(7);
  h.observe(0.05);
  h.observe(0.5);
  h.observe(3);
  assert.equal(
    r.render(),
    [
      "# HELP demo_requests_total Requests.\\nTwo lines.",
      "# TYPE demo_requests_total counter",
      'demo_requests_total{route="/a",code="200"} 3',
      'demo_requests_total{route="x\\"y\\\\z\\n",code="500"} 1',
      "# HELP demo_depth Depth.",
      "# TYPE demo_depth gauge",
      "demo_depth 7",
      "# HELP demo_seconds Time.",
      "# TYPE demo_seconds histogram",
      'demo_seconds_bucket{le="0.1"} 1',
      'demo_seconds_bucket{le="0.5"} 2',
      'demo_seconds_bucket{le="1"} 2',
      'demo_seconds_bucket{le="+Inf"} 3',
      "demo_seconds_sum 3.55",
      "demo_seconds_count 3",
      "",
    ].join("\n"),
  );
});

test("labels must be the declared ones", () => {
  const r = new Registry();
  const c = r.counter("x_total", "X.", ["outcome"]);
  assert.throws(() => c.inc({}), /label "outcome" is missing/);
  assert.throws(() => c.inc({ outcome: "ok", extra: "1" }), /unknown label "extra"/);
  assert.throws(() => c.inc({ outcome: "ok" }, -1), /only goes up/);
  assert.throws(() => r.counter("x_total", "again"), /registered twice/);
  assert.throws(() => r.gauge("bad-name", "X."), /bad metric name/);
});

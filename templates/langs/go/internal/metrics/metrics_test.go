package metrics

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTextFormat(t *testing.T) {
	r := NewRegistry()
	req := r.Counter("http_requests_total", "Requests served.", "route", "method", "code")
	dur := r.Histogram("http_request_duration_seconds", "Request latency.", nil, "route")
	depth := r.Gauge("worker_queue_depth", "Jobs waiting.")
	req.With("/hello", "GET", "200").Inc()
	req.With("/hello", "GET", "200").Add(2)
	req.With("/hello", "GET", "500").Inc()
	req.With("/hello", "GET", "500").Add(-5) // ignored
	dur.With("/hello").Observe(0.25)
	dur.With("/hello").Observe(0.75)
	depth.Set(12)

	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n",
		`http_requests_total{route="/hello",method="GET",code="200"} 3` + "\n",
		`http_requests_total{route="/hello",method="GET",code="500"} 1` + "\n",
		"# TYPE http_request_duration_seconds histogram\n",
		`http_request_duration_seconds_bucket{route="/hello",le="0.25"} 1` + "\n",
		`http_request_duration_seconds_bucket{route="/hello",le="0.5"} 1` + "\n",
		`http_request_duration_seconds_bucket{route="/hello",le="0.1"} 0` + "\n",
		`http_request_duration_seconds_bucket{route="/hello",le="1"} 2` + "\n",
		`http_request_duration_seconds_bucket{route="/hello",le="+Inf"} 2` + "\n",
		`http_request_duration_seconds_sum{route="/hello"} 1` + "\n",
		`http_request_duration_seconds_count{route="/hello"} 2` + "\n",
		"# TYPE worker_queue_depth gauge\nworker_queue_depth 12\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLabelEscaping(t *testing.T) {
	r := NewRegistry()
	r.Counter("odd_total", "Help with \\ and\nnewline.", "v").With("a\"b\\c\nd").Inc()
	var buf bytes.Buffer
	_ = r.WriteText(&buf)
	if !strings.Contains(buf.String(), `odd_total{v="a\"b\\c\nd"} 1`) {
		t.Errorf("label not escaped:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), `# HELP odd_total Help with \\ and\nnewline.`) {
		t.Errorf("help not escaped:\n%s", buf.String())
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	r := NewRegistry()
	r.Gauge("g", "a gauge")
	defer func() {
		if recover() == nil {
			t.Error("a second metric named g was accepted")
		}
	}()
	r.Gauge("g", "again")
}

func TestHandler(t *testing.T) {
	r := NewRegistry()
	r.Gauge("up_gauge", "x").Set(1)
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	if !strings.Contains(rec.Body.String(), "up_gauge 1\n") {
		t.Errorf("body %q", rec.Body.String())
	}
}

package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	incomingTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingParent = "00f067aa0ba902b7"
	incomingHeader = "00-" + incomingTrace + "-" + incomingParent + "-01"
)

func TestParseTraceparent(t *testing.T) {
	sc, err := ParseTraceparent(incomingHeader)
	if err != nil {
		t.Fatalf("valid header refused: %v", err)
	}
	if sc.TraceID.String() != incomingTrace || sc.SpanID.String() != incomingParent || sc.Flags != 1 {
		t.Fatalf("parsed %s %s %02x", sc.TraceID, sc.SpanID, sc.Flags)
	}
	if got := sc.Traceparent(); got != incomingHeader {
		t.Fatalf("round trip: %q, want %q", got, incomingHeader)
	}
	// A later version is read by its first four fields.
	if _, err := ParseTraceparent("01-" + incomingTrace + "-" + incomingParent + "-00-extra"); err != nil {
		t.Fatalf("version 01 with more fields refused: %v", err)
	}
	bad := []string{
		"",
		"garbage",
		"00-" + incomingTrace + "-" + incomingParent + "-01-extra",      // 00 has exactly 4 fields
		"ff-" + incomingTrace + "-" + incomingParent + "-01",            // version ff is invalid
		"00-00000000000000000000000000000000-" + incomingParent + "-01", // zero trace id
		"00-" + incomingTrace + "-0000000000000000-01",                  // zero parent id
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-" + incomingParent + "-01", // uppercase
		"00-" + incomingTrace + "-" + incomingParent + "-0g",
		"00_" + incomingTrace + "-" + incomingParent + "-01",
		"00-" + incomingTrace[:31] + "-" + incomingParent + "-01",
	}
	for _, h := range bad {
		if sc, err := ParseTraceparent(h); err == nil {
			t.Errorf("ParseTraceparent(%q) = %+v, want an error", h, sc)
		}
	}
}

// serveAndCallOut runs one request carrying header (if not empty) through
// Middleware to a handler that calls an upstream service through the
// tracing client, and returns the traceparent the upstream received.
func serveAndCallOut(t *testing.T, header string) (string, *MemoryExporter) {
	t.Helper()
	got := make(chan string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get(HeaderTraceparent)
	}))
	defer upstream.Close()

	exp := &MemoryExporter{}
	tr := New("test", exp)
	client := NewClient(tr, 5*time.Second)
	h := Middleware(tr, "/hello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, upstream.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("upstream call: %v", err)
			return
		}
		resp.Body.Close()
	}))
	req := httptest.NewRequest(http.MethodGet, "/hello", nil)
	if header != "" {
		req.Header.Set(HeaderTraceparent, header)
	}
	h.ServeHTTP(httptest.NewRecorder(), req)
	select {
	case tp := <-got:
		return tp, exp
	default:
		t.Fatal("the upstream was never called")
		return "", nil
	}
}

func TestPropagationContinuesTrace(t *testing.T) {
	out, exp := serveAndCallOut(t, incomingHeader)
	sc, err := ParseTraceparent(out)
	if err != nil {
		t.Fatalf("outgoing traceparent %q: %v", out, err)
	}
	if sc.TraceID.String() != incomingTrace {
		t.Errorf("outgoing trace id %s, want the incoming %s", sc.TraceID, incomingTrace)
	}
	if sc.SpanID.String() == incomingParent {
		t.Errorf("outgoing parent id is the incoming one: a new span id was expected")
	}
	spans := exp.Spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans exported, want 2 (client, server)", len(spans))
	}
	client, server := spans[0], spans[1]
	if server.Kind != KindServer || client.Kind != KindClient {
		t.Fatalf("span kinds %s, %s", client.Kind, server.Kind)
	}
	if server.Parent.String() != incomingParent {
		t.Errorf("server span parent %s, want the caller's %s", server.Parent, incomingParent)
	}
	if client.Parent != server.Context.SpanID {
		t.Errorf("client span parent %s, want the server span %s", client.Parent, server.Context.SpanID)
	}
	if sc.SpanID != client.Context.SpanID {
		t.Errorf("outgoing parent id %s, want the client span %s", sc.SpanID, client.Context.SpanID)
	}
	if server.Name != "GET /hello" {
		t.Errorf("server span name %q", server.Name)
	}
}

func TestInvalidTraceparentStartsNewTrace(t *testing.T) {
	for _, h := range []string{"", "00-zzzz-bad-01", "00-00000000000000000000000000000000-" + incomingParent + "-01"} {
		out, exp := serveAndCallOut(t, h)
		sc, err := ParseTraceparent(out)
		if err != nil {
			t.Fatalf("incoming %q: outgoing traceparent %q: %v", h, out, err)
		}
		if sc.TraceID.String() == incomingTrace || !sc.TraceID.IsValid() {
			t.Errorf("incoming %q: outgoing trace id %s, want a new one", h, sc.TraceID)
		}
		server := exp.Spans()[1]
		if server.Parent.IsValid() {
			t.Errorf("incoming %q: server span has parent %s, want a root span", h, server.Parent)
		}
		if server.Context.TraceID != sc.TraceID {
			t.Errorf("incoming %q: the new trace is not passed on", h)
		}
	}
}

func TestTracestatePassedOn(t *testing.T) {
	in := http.Header{}
	in.Set(HeaderTraceparent, incomingHeader)
	in.Set(HeaderTracestate, "vendor=abc")
	ctx, span := New("test", nil).Start(Extract(context.Background(), in), "op", KindInternal)
	defer span.End()
	out := http.Header{}
	Inject(ctx, out)
	if out.Get(HeaderTracestate) != "vendor=abc" {
		t.Errorf("tracestate %q", out.Get(HeaderTracestate))
	}
	if !strings.HasPrefix(out.Get(HeaderTraceparent), "00-"+incomingTrace+"-") {
		t.Errorf("traceparent %q", out.Get(HeaderTraceparent))
	}
}

func TestJSONExporterWritesLogLine(t *testing.T) {
	var buf bytes.Buffer
	tr := New("checkout", NewJSONExporter(&buf))
	ctx := ExtractMap(context.Background(), map[string]string{"traceparent": incomingHeader})
	_, span := tr.Start(ctx, "job", KindConsumer)
	span.SetAttribute("job.id", "42")
	span.End()
	span.End() // a second End exports nothing
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	var m map[string]interface{}
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, lines[0])
	}
	for k, want := range map[string]interface{}{
		"msg": "span", "service": "checkout", "trace_id": incomingTrace,
		"parent_span_id": incomingParent, "span_name": "job", "span_kind": "consumer",
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if _, ok := m["time"].(string); !ok {
		t.Errorf("no time: %s", lines[0])
	}
	if attrs, _ := m["attributes"].(map[string]interface{}); attrs["job.id"] != "42" {
		t.Errorf("attributes %v", m["attributes"])
	}
}

func TestNilSpanIsSafe(t *testing.T) {
	var s *Span
	s.SetAttribute("k", 1)
	s.SetError(nil)
	s.End()
	if s.SpanContext().IsValid() {
		t.Fatal("nil span has a valid context")
	}
	h := http.Header{}
	Inject(context.Background(), h)
	if len(h) != 0 {
		t.Fatalf("Inject without a span wrote %v", h)
	}
}

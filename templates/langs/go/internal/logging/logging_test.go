package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"{{service.name}}/internal/tracing"
)

func lines(t *testing.T, buf *bytes.Buffer) []map[string]interface{} {
	t.Helper()
	var out []map[string]interface{}
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]interface{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %v: %q", err, l)
		}
		out = append(out, m)
	}
	return out
}

func TestLineFields(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "{{service.name}}", LevelInfo)
	log.Info(context.Background(), "started", "port", 8080, "err", errors.New("boom"),
		"took", 1500*time.Millisecond, "quote", "a \"b\"\n")
	got := lines(t, &buf)
	if len(got) != 1 {
		t.Fatalf("%d lines", len(got))
	}
	m := got[0]
	want := map[string]interface{}{
		"level": "info", "msg": "started", "service": "{{service.name}}",
		"port": 8080.0, "err": "boom", "took": "1.5s", "quote": "a \"b\"\n",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, m["time"].(string)); err != nil {
		t.Errorf("time: %v", err)
	}
	if _, ok := m["trace_id"]; ok {
		t.Errorf("trace_id outside a span")
	}
}

func TestLevelsFilter(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "s", LevelWarn)
	log.Debug(context.Background(), "d")
	log.Info(context.Background(), "i")
	log.Warn(context.Background(), "w")
	log.Error(context.Background(), "e")
	got := lines(t, &buf)
	if len(got) != 2 || got[0]["level"] != "warn" || got[1]["level"] != "error" {
		t.Fatalf("lines %v", got)
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Error("ParseLevel accepted \"loud\"")
	}
	if l, err := ParseLevel("WARNING"); err != nil || l != LevelWarn {
		t.Errorf("ParseLevel(WARNING) = %v, %v", l, err)
	}
}

func TestTraceIDsInSpan(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "s", LevelInfo)
	ctx, span := tracing.New("s", nil).Start(context.Background(), "op", tracing.KindInternal)
	log.Info(ctx, "in span", "odd")
	m := lines(t, &buf)[0]
	sc := span.SpanContext()
	if m["trace_id"] != sc.TraceID.String() || m["span_id"] != sc.SpanID.String() {
		t.Errorf("ids %v %v, want %s %s", m["trace_id"], m["span_id"], sc.TraceID, sc.SpanID)
	}
	if m["odd"] != "!MISSING" {
		t.Errorf("odd field: %v", m["odd"])
	}
}

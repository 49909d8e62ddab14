package tracing

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// JSONExporter writes each finished span as one JSON line in the shape of
// the service's logs (time, level, msg "span", service, trace_id, span_id),
// so spans reach the log pipeline with no collector. Give it the service's
// logger as the writer, which keeps lines whole.
//
// OTLP slot: when OTEL_EXPORTER_OTLP_ENDPOINT is set, the platform expects
// spans at that collector. This build has no OTLP client (no module
// downloads); to add one, implement Exporter with the OpenTelemetry Go SDK's
// otlptracehttp exporter, or POST batches of spans as OTLP/HTTP JSON to
// <endpoint>/v1/traces, and pass it to tracing.New in main.go.
type JSONExporter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONExporter returns an exporter that writes to w.
func NewJSONExporter(w io.Writer) *JSONExporter {
	return &JSONExporter{w: w}
}

type spanLine struct {
	Time       string                 `json:"time"`
	Level      string                 `json:"level"`
	Msg        string                 `json:"msg"`
	Service    string                 `json:"service"`
	TraceID    string                 `json:"trace_id"`
	SpanID     string                 `json:"span_id"`
	ParentID   string                 `json:"parent_span_id,omitempty"`
	Name       string                 `json:"span_name"`
	Kind       Kind                   `json:"span_kind"`
	Start      string                 `json:"start"`
	DurationMS float64                `json:"duration_ms"`
	Status     string                 `json:"status"`
	StatusMsg  string                 `json:"status_message,omitempty"`
	Attributes map[string]interface{} `json:"attributes,omitempty"`
}

// Export writes d as one line; a write error is dropped, since tracing
// must never fail the request it observes.
func (e *JSONExporter) Export(d SpanData) {
	line := spanLine{
		Time:       d.End.UTC().Format(time.RFC3339Nano),
		Level:      "info",
		Msg:        "span",
		Service:    d.Service,
		TraceID:    d.Context.TraceID.String(),
		SpanID:     d.Context.SpanID.String(),
		Name:       d.Name,
		Kind:       d.Kind,
		Start:      d.Start.UTC().Format(time.RFC3339Nano),
		DurationMS: float64(d.End.Sub(d.Start).Microseconds()) / 1000,
		Status:     d.Status,
		StatusMsg:  d.StatusMsg,
	}
	if d.Parent.IsValid() {
		line.ParentID = d.Parent.String()
	}
	if len(d.Attributes) > 0 {
		line.Attributes = make(map[string]interface{}, len(d.Attributes))
		for _, a := range d.Attributes {
			line.Attributes[a.Key] = a.Value
		}
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(b)
}

// MemoryExporter keeps finished spans in memory, for tests.
type MemoryExporter struct {
	mu    sync.Mutex
	spans []SpanData
}

// Export keeps d.
func (m *MemoryExporter) Export(d SpanData) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.spans = append(m.spans, d)
}

// Spans returns the spans exported so far, in the order they ended.
func (m *MemoryExporter) Spans() []SpanData {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]SpanData(nil), m.spans...)
}

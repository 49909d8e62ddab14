// Package tracing is a small tracer that follows OpenTelemetry's data model
// and W3C Trace Context (https://www.w3.org/TR/trace-context/): it continues
// a trace from an incoming traceparent header, makes a span per request or
// job, puts traceparent on outgoing requests and exports finished spans.
//
// It exists because the service builds offline from the standard library
// only. The upgrade path is the OpenTelemetry Go SDK
// (go.opentelemetry.io/otel with its OTLP exporter): the header format, the
// ids and the span fields here are the same, so traces stay connected
// across services that use either. This package never samples spans away,
// never reads the network and never blocks on an exporter.
package tracing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// TraceID identifies a whole trace across services.
type TraceID [16]byte

// SpanID identifies one span inside a trace.
type SpanID [8]byte

// IsValid reports whether the id is not all zeroes (W3C: all-zero is invalid).
func (t TraceID) IsValid() bool { return t != TraceID{} }

// String is the id as 32 lowercase hex digits.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// IsValid reports whether the id is not all zeroes.
func (s SpanID) IsValid() bool { return s != SpanID{} }

// String is the id as 16 lowercase hex digits.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// FlagSampled is the trace-flags bit that says the caller records the trace.
const FlagSampled byte = 0x01

// SpanContext is what crosses a service boundary: the ids, the flags and
// the vendor tracestate, which is passed on untouched.
type SpanContext struct {
	TraceID    TraceID
	SpanID     SpanID
	Flags      byte
	TraceState string
	Remote     bool // it came from another process
}

// IsValid reports whether both ids are set.
func (sc SpanContext) IsValid() bool {
	return sc.TraceID.IsValid() && sc.SpanID.IsValid()
}

// Kind says what a span stands for, as in OpenTelemetry.
type Kind string

// The span kinds of OpenTelemetry.
const (
	KindInternal Kind = "internal"
	KindServer   Kind = "server"
	KindClient   Kind = "client"
	KindProducer Kind = "producer"
	KindConsumer Kind = "consumer"
)

// Attribute is one key/value of a span; the order they were set is kept.
type Attribute struct {
	Key   string
	Value interface{}
}

// SpanData is a finished span, as given to an Exporter.
type SpanData struct {
	Service    string
	Name       string
	Kind       Kind
	Context    SpanContext
	Parent     SpanID // zero for a root span
	Start      time.Time
	End        time.Time
	Attributes []Attribute
	Status     string // "unset", "ok" or "error", as in OpenTelemetry
	StatusMsg  string
}

// Exporter receives every finished span. Export must be safe for
// concurrent use and must not block for long: it runs on the request path.
type Exporter interface {
	Export(SpanData)
}

// Tracer makes spans for one service.
type Tracer struct {
	service  string
	exporter Exporter
	now      func() time.Time
}

// New returns a tracer for service that hands finished spans to exporter
// (nil: spans are made and propagated but exported nowhere).
func New(service string, exporter Exporter) *Tracer {
	return &Tracer{service: service, exporter: exporter, now: time.Now}
}

// Span is one timed operation. Its methods are safe for concurrent use and
// do nothing on a nil span, so callers need not check.
type Span struct {
	tracer *Tracer
	mu     sync.Mutex
	data   SpanData
	ended  bool
}

type spanKey struct{}
type remoteKey struct{}

// Start begins a span named name. Its parent is the span in ctx, else the
// remote span context in ctx (see Extract), else it starts a new trace.
// The returned context carries the new span: pass it on.
func (t *Tracer) Start(ctx context.Context, name string, kind Kind) (context.Context, *Span) {
	var parent SpanContext
	if p := SpanFromContext(ctx); p != nil {
		parent = p.SpanContext()
	} else if r, ok := ctx.Value(remoteKey{}).(SpanContext); ok {
		parent = r
	}
	sc := SpanContext{SpanID: newSpanID()}
	var parentID SpanID
	if parent.IsValid() {
		sc.TraceID = parent.TraceID
		sc.Flags = parent.Flags
		sc.TraceState = parent.TraceState
		parentID = parent.SpanID
	} else {
		// A new trace is recorded: this tracer keeps every span, so it
		// says so to the services downstream.
		sc.TraceID = newTraceID()
		sc.Flags = FlagSampled
	}
	s := &Span{tracer: t, data: SpanData{
		Service: t.service,
		Name:    name,
		Kind:    kind,
		Context: sc,
		Parent:  parentID,
		Start:   t.now(),
		Status:  "unset",
	}}
	return context.WithValue(ctx, spanKey{}, s), s
}

// SpanFromContext returns the span in ctx, or nil.
func SpanFromContext(ctx context.Context) *Span {
	s, _ := ctx.Value(spanKey{}).(*Span)
	return s
}

// ContextWithRemote returns ctx carrying sc, a span context from another
// process: the next Start continues its trace.
func ContextWithRemote(ctx context.Context, sc SpanContext) context.Context {
	if !sc.IsValid() {
		return ctx
	}
	sc.Remote = true
	return context.WithValue(ctx, remoteKey{}, sc)
}

// SpanContext returns the ids of s (the zero value for a nil span).
func (s *Span) SpanContext() SpanContext {
	if s == nil {
		return SpanContext{}
	}
	return s.data.Context
}

// SetAttribute records key=value on the span (OpenTelemetry's semantic
// names, e.g. "http.route", keep dashboards portable).
func (s *Span) SetAttribute(key string, value interface{}) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.Attributes = append(s.data.Attributes, Attribute{key, value})
}

// SetError marks the span failed with err's message; a nil err sets "ok".
func (s *Span) SetError(err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.data.Status, s.data.StatusMsg = "ok", ""
		return
	}
	s.data.Status, s.data.StatusMsg = "error", err.Error()
}

// End finishes the span and exports it; later calls do nothing.
func (s *Span) End() {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.data.End = s.tracer.now()
	d := s.data
	d.Attributes = append([]Attribute(nil), s.data.Attributes...)
	s.mu.Unlock()
	if s.tracer.exporter != nil {
		s.tracer.exporter.Export(d)
	}
}

// ErrTraceparent is returned for a traceparent header that is not valid.
var ErrTraceparent = errors.New("tracing: invalid traceparent")

// ParseTraceparent reads a W3C traceparent header:
// "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", lowercase.
// A later version is read by its first four fields, as the spec asks;
// version ff, all-zero ids, uppercase hex and any other shape are errors,
// and the caller then starts a new trace.
func ParseTraceparent(h string) (SpanContext, error) {
	var sc SpanContext
	if len(h) < 55 {
		return sc, ErrTraceparent
	}
	version, ok := parseHex(h[0:2], nil)
	if !ok || version == 0xff || h[2] != '-' || h[35] != '-' || h[52] != '-' {
		return sc, ErrTraceparent
	}
	if version == 0 && len(h) != 55 {
		return sc, ErrTraceparent
	}
	if version != 0 && len(h) > 55 && h[55] != '-' {
		return sc, ErrTraceparent
	}
	if _, ok := parseHex(h[3:35], sc.TraceID[:]); !ok {
		return sc, ErrTraceparent
	}
	if _, ok := parseHex(h[36:52], sc.SpanID[:]); !ok {
		return sc, ErrTraceparent
	}
	flags, ok := parseHex(h[53:55], nil)
	if !ok || !sc.IsValid() {
		return SpanContext{}, ErrTraceparent
	}
	sc.Flags = byte(flags)
	return sc, nil
}

// Traceparent is sc as a version-00 traceparent header value.
func (sc SpanContext) Traceparent() string {
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	b = append(b, sc.TraceID.String()...)
	b = append(b, '-')
	b = append(b, sc.SpanID.String()...)
	b = append(b, '-')
	b = append(b, hex.EncodeToString([]byte{sc.Flags})...)
	return string(b)
}

// parseHex decodes lowercase hex s into dst (when not nil) and returns the
// value of a 2-digit s; uppercase is refused, as the spec requires.
func parseHex(s string, dst []byte) (int, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return 0, false
		}
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return 0, false
	}
	if dst != nil {
		copy(dst, b)
	}
	return int(b[0]), true
}

func newTraceID() TraceID {
	var t TraceID
	for !t.IsValid() {
		randomFill(t[:])
	}
	return t
}

func newSpanID() SpanID {
	var s SpanID
	for !s.IsValid() {
		randomFill(s[:])
	}
	return s
}

func randomFill(b []byte) {
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on Linux; if it ever does, ids
		// from the clock still keep traces apart well enough.
		n := time.Now().UnixNano()
		for i := range b {
			b[i] = byte(n >> (8 * (i % 8)))
			n = n*6364136223846793005 + 1442695040888963407
		}
	}
}

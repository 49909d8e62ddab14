package tracing

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// The W3C Trace Context headers.
const (
	HeaderTraceparent = "traceparent"
	HeaderTracestate  = "tracestate"
)

// Extract returns ctx carrying the span context of an incoming request's
// traceparent and tracestate headers. Without a valid traceparent it
// returns ctx unchanged, so the next span starts a new trace.
func Extract(ctx context.Context, h http.Header) context.Context {
	sc, err := ParseTraceparent(h.Get(HeaderTraceparent))
	if err != nil {
		return ctx
	}
	sc.TraceState = h.Get(HeaderTracestate)
	return ContextWithRemote(ctx, sc)
}

// ExtractMap is Extract for headers kept in a map, such as the headers of
// a queue message.
func ExtractMap(ctx context.Context, m map[string]string) context.Context {
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return Extract(ctx, h)
}

// Inject writes the traceparent (and tracestate) of the span in ctx into h,
// so that the service receiving them continues the trace. Without a span in
// ctx it writes nothing.
func Inject(ctx context.Context, h http.Header) {
	sc := SpanFromContext(ctx).SpanContext()
	if !sc.IsValid() {
		if r, ok := ctx.Value(remoteKey{}).(SpanContext); ok {
			sc = r
		}
	}
	if !sc.IsValid() {
		return
	}
	h.Set(HeaderTraceparent, sc.Traceparent())
	if sc.TraceState != "" {
		h.Set(HeaderTracestate, sc.TraceState)
	}
}

// InjectRequest is Inject for a request built with its context
// (http.NewRequestWithContext).
func InjectRequest(req *http.Request) {
	Inject(req.Context(), req.Header)
}

// Middleware serves next inside a server span named "METHOD route" that
// continues the caller's trace. route is the pattern the handler is
// registered for, not the raw path, so span names stay few.
func Middleware(t *Tracer, route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := Extract(r.Context(), r.Header)
		ctx, span := t.Start(ctx, r.Method+" "+route, KindServer)
		defer span.End()
		span.SetAttribute("http.method", r.Method)
		span.SetAttribute("http.route", route)
		rec := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		span.SetAttribute("http.status_code", rec.code)
		if rec.code >= 500 {
			span.SetError(httpError(rec.code))
		}
	})
}

// Transport is an http.RoundTripper that makes a client span for every
// outgoing request and sends its traceparent: the trace id of the request
// being served, a new parent id (the client span's). Use it through
// NewClient for every call to another service.
type Transport struct {
	Base   http.RoundTripper // nil: http.DefaultTransport
	Tracer *Tracer
}

// RoundTrip sends req with traceparent set; req itself is not changed, as
// the RoundTripper contract requires. The span ends when the response
// headers arrive.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	ctx, span := t.Tracer.Start(req.Context(), "HTTP "+req.Method, KindClient)
	defer span.End()
	span.SetAttribute("http.method", req.Method)
	span.SetAttribute("http.url", req.URL.Redacted())
	out := req.Clone(ctx)
	Inject(ctx, out.Header)
	resp, err := base.RoundTrip(out)
	if err != nil {
		span.SetError(err)
		return nil, err
	}
	span.SetAttribute("http.status_code", resp.StatusCode)
	if resp.StatusCode >= 500 {
		span.SetError(httpError(resp.StatusCode))
	}
	return resp, nil
}

// NewClient returns an http.Client whose requests carry traceparent.
func NewClient(t *Tracer, timeout time.Duration) *http.Client {
	return &http.Client{Transport: &Transport{Tracer: t}, Timeout: timeout}
}

type httpError int

func (e httpError) Error() string { return "HTTP " + strconv.Itoa(int(e)) }

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code    int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.written {
		w.code, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}

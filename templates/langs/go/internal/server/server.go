{{^cron}}
// Package server is the service's HTTP server: /healthz (liveness),
// /readyz (readiness), /metrics (Prometheus) and the service's own routes,
// each served inside a trace span, counted in http_requests_total and
// http_request_duration_seconds, and logged. It shuts down gracefully.
//
// /healthz never looks at the database, the queue or anything outside the
// process: a liveness probe that checks dependencies restarts every pod
// when a dependency is slow, or in the middle of a long migration.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"{{service.name}}/internal/logging"
	"{{service.name}}/internal/metrics"
	"{{service.name}}/internal/tracing"
)

// Readiness is the set of reasons the service cannot serve yet (start-up,
// migrations, a missing dependency, shutting down). It is ready when the
// set is empty.
type Readiness struct {
	mu      sync.Mutex
	waiting map[string]string
}

// NewReadiness returns an empty Readiness; call Wait for what start-up
// still has to do before anything serves.
func NewReadiness() *Readiness {
	return &Readiness{waiting: map[string]string{}}
}

// Wait makes the service not ready until Done(name).
func (r *Readiness) Wait(name, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiting[name] = reason
}

// Done removes what Wait(name) added.
func (r *Readiness) Done(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.waiting, name)
}

// Ready reports whether nothing is waited for, and else what is, sorted.
func (r *Readiness) Ready() (bool, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var why []string
	for name, reason := range r.waiting {
		why = append(why, name+": "+reason)
	}
	sort.Strings(why)
	return len(why) == 0, why
}

// Server serves the health, metrics and application routes.
type Server struct {
	mux      *http.ServeMux
	log      *logging.Logger
	tracer   *tracing.Tracer
	ready    *Readiness
	live     func() error
	requests *metrics.CounterVec
	duration *metrics.HistogramVec

	// DrainDelay is how long Run keeps serving, with /readyz failing,
	// after its context ends: Kubernetes stops sending traffic a few
	// seconds after it sends SIGTERM, not at once.
	DrainDelay time.Duration
	// ShutdownTimeout bounds how long in-flight requests may finish;
	// keep DrainDelay + ShutdownTimeout under the pod's
	// terminationGracePeriodSeconds (default 30 s).
	ShutdownTimeout time.Duration
}

// New returns a server with /healthz, /readyz and /metrics, registering the
// HTTP metrics in reg.
func New(log *logging.Logger, tracer *tracing.Tracer, reg *metrics.Registry, ready *Readiness) *Server {
	s := &Server{
		mux:    http.NewServeMux(),
		log:    log,
		tracer: tracer,
		ready:  ready,
		requests: reg.Counter("http_requests_total",
			"HTTP requests served, by route, method and status code.",
			"route", "method", "code"),
		duration: reg.Histogram("http_request_duration_seconds",
			"Time to serve an HTTP request, by route.", metrics.DefBuckets, "route"),
		ShutdownTimeout: 10 * time.Second,
	}
	// Probes and scrapes are neither traced nor logged: they would drown
	// the service's own requests.
	s.mux.HandleFunc("/healthz", s.healthz)
	s.mux.HandleFunc("/readyz", s.readyz)
	s.mux.Handle("/metrics", reg.Handler())
	return s
}

// SetLiveness makes /healthz answer 503 while check returns an error. The
// check must look at this process only (a loop that stopped turning),
// never at a database, a queue or another service.
func (s *Server) SetLiveness(check func() error) { s.live = check }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.live != nil {
		if err := s.live(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(err.Error() + "\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	ok, why := s.ready.Ready()
	body := map[string]interface{}{"status": "ready"}
	code := http.StatusOK
	if !ok {
		body = map[string]interface{}{"status": "not ready", "waiting": why}
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// Handle serves h at route (a ServeMux pattern), traced, measured and
// logged under that route.
func (s *Server) Handle(route string, h http.Handler) {
	s.mux.Handle(route, tracing.Middleware(s.tracer, route, s.instrument(route, h)))
}

// Handler is the server's whole handler, for tests.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			p := recover()
			if p == http.ErrAbortHandler {
				panic(p)
			}
			if p != nil {
				s.log.Error(r.Context(), "handler panicked", "route", route, "panic", fmt.Sprint(p))
				if !rec.written {
					http.Error(rec, "internal error", http.StatusInternalServerError)
				}
				rec.code = http.StatusInternalServerError
				tracing.SpanFromContext(r.Context()).SetError(fmt.Errorf("panic: %v", p))
			}
			took := time.Since(start)
			s.requests.With(route, method(r.Method), strconv.Itoa(rec.code)).Inc()
			s.duration.With(route).Observe(took.Seconds())
			s.log.Info(r.Context(), "request", "method", r.Method, "route", route,
				"path", r.URL.Path, "code", rec.code,
				"duration_ms", float64(took.Microseconds())/1000)
		}()
		next.ServeHTTP(rec, r)
	})
}

// method keeps the method label to the standard methods, so a client
// sending made-up methods cannot create unbounded series.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// Run listens on addr and serves until ctx ends, then drains and shuts
// down gracefully. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (tests use port 0).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info(context.Background(), "listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.ready.Wait("shutdown", "shutting down")
	s.log.Info(context.Background(), "shutting down", "drain", s.DrainDelay)
	time.Sleep(s.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// recorder remembers the status code a handler wrote.
type recorder struct {
	http.ResponseWriter
	code    int
	written bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.written {
		w.code, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}
{{/cron}}

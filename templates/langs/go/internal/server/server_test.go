{{^cron}}
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"{{service.name}}/internal/logging"
	"{{service.name}}/internal/metrics"
	"{{service.name}}/internal/tracing"
)

func newTestServer(t *testing.T) (*Server, *Readiness, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	log := logging.New(&logs, "test", logging.LevelInfo)
	ready := NewReadiness()
	s := New(log, tracing.New("test", nil), metrics.NewRegistry(), ready)
	return s, ready, &logs
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestHealthzAlwaysOK(t *testing.T) {
	s, ready, _ := newTestServer(t)
	ready.Wait("startup", "migrating")
	if rec := get(s.Handler(), "/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("/healthz = %d while starting, want 200: liveness must not wait for start-up", rec.Code)
	}
}

func TestHealthzFollowsLiveness(t *testing.T) {
	s, _, _ := newTestServer(t)
	var stuck error
	s.SetLiveness(func() error { return stuck })
	if rec := get(s.Handler(), "/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("/healthz = %d while live, want 200", rec.Code)
	}
	stuck = errors.New("job 7 stuck")
	if rec := get(s.Handler(), "/healthz"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "job 7 stuck") {
		t.Fatalf("/healthz = %d %q while stuck, want 503 saying why", rec.Code, rec.Body)
	}
}

func TestReadyzFollowsReadiness(t *testing.T) {
	s, ready, _ := newTestServer(t)
	ready.Wait("startup", "migrating")
	ready.Wait("database", "DATABASE_URL is not set")
	rec := get(s.Handler(), "/readyz")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d before start-up, want 503", rec.Code)
	}
	var body struct {
		Status  string
		Waiting []string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "not ready" || len(body.Waiting) != 2 || body.Waiting[0] != "database: DATABASE_URL is not set" {
		t.Errorf("body %+v", body)
	}
	ready.Done("startup")
	if rec := get(s.Handler(), "/readyz"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d with one reason left, want 503", rec.Code)
	}
	ready.Done("database")
	if rec := get(s.Handler(), "/readyz"); rec.Code != http.StatusOK {
		t.Fatalf("/readyz = %d when ready, want 200", rec.Code)
	}
}

func TestRoutesAreMeasured(t *testing.T) {
	s, _, logs := newTestServer(t)
	s.Handle("/boom", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("bad")
	}))
	s.Handle("/ok", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	if rec := get(s.Handler(), "/boom"); rec.Code != http.StatusInternalServerError {
		t.Errorf("/boom = %d, want 500", rec.Code)
	}
	get(s.Handler(), "/ok")
	body := get(s.Handler(), "/metrics").Body.String()
	for _, want := range []string{
		`http_requests_total{route="/boom",method="GET",code="500"} 1`,
		`http_requests_total{route="/ok",method="GET",code="418"} 1`,
		`http_request_duration_seconds_count{route="/ok"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"handler panicked"`) || !strings.Contains(logs.String(), `"trace_id":`) {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestGracefulShutdown(t *testing.T) {
	s, ready, _ := newTestServer(t)
	started := make(chan struct{})
	release := make(chan struct{})
	s.Handle("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = w.Write([]byte("done"))
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		got <- b.String()
	}()
	<-started
	cancel()
	time.Sleep(50 * time.Millisecond)
	if ok, _ := ready.Ready(); ok {
		t.Error("still ready while shutting down")
	}
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("in-flight request got %q, want it to finish", body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
}
{{/cron}}

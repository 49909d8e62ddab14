package main

import (
	"bytes"
	"context"
{{^cron}}
	"encoding/json"
{{/cron}}
{{#cron}}
	"errors"
{{/cron}}
{{^cron}}
{{#db}}
	"errors"
{{/db}}
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
{{/cron}}
{{#api}}
	"net/url"
{{/api}}
{{#worker}}
{{#db}}
	"net/url"
{{/db}}
{{/worker}}
	"strings"
{{^cron}}
	"sync"
{{/cron}}
	"testing"
	"time"

	"{{service.name}}/internal/logging"
	"{{service.name}}/internal/metrics"
{{^cron}}
	"{{service.name}}/internal/server"
{{/cron}}
	"{{service.name}}/internal/tracing"
{{#worker}}
	"{{service.name}}/internal/worker"
{{/worker}}
)

// goodEnv is an environment the service starts with.
func goodEnv() map[string]string {
	env := map[string]string{"LOG_LEVEL": "debug"}
{{#db}}
	env["DATABASE_URL"] = "postgres://{{service.ident}}@db.internal:5432/{{service.ident}}"
{{/db}}
{{#queue}}
	env["KAFKA_BROKERS"] = "kafka-0.kafka:9092"
{{/queue}}
	return env
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range m {
		out[a] = b
	}
	if v == "" {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatalf("empty environment: %v", err)
	}
	if c.Service != "{{service.name}}" || c.LogLevel != logging.LevelInfo {
		t.Errorf("defaults %+v", c)
	}
{{^cron}}
	if c.Port != 8080 {
		t.Errorf("default port %d, want 8080", c.Port)
	}
	for _, bad := range []string{"http", "0", "65536", "-1"} {
		if _, err := loadConfig(envOf(map[string]string{"PORT": bad})); err == nil {
			t.Errorf("PORT=%s accepted", bad)
		}
	}
	if c, _ := loadConfig(envOf(map[string]string{"PORT": "9090"})); c.Port != 9090 {
		t.Errorf("PORT=9090 read as %d", c.Port)
	}
{{/cron}}
	if _, err := loadConfig(envOf(map[string]string{"LOG_LEVEL": "loud"})); err == nil {
		t.Error("LOG_LEVEL=loud accepted")
	}
	if c, _ := loadConfig(envOf(map[string]string{"OTEL_SERVICE_NAME": "other"})); c.Service != "other" {
		t.Errorf("OTEL_SERVICE_NAME ignored: %q", c.Service)
	}
}
{{^cron}}

type testService struct {
	cfg   config
	logs  *bytes.Buffer
	log   *logging.Logger
	srv   *server.Server
	ready *server.Readiness
}

func newTestService(t *testing.T, env map[string]string) *testService {
	t.Helper()
	cfg, err := loadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := logging.New(&logs, cfg.Service, logging.LevelDebug)
	tracer := tracing.New(cfg.Service, tracing.NewJSONExporter(log))
	srv, ready := newServer(cfg, log, tracer, metrics.NewRegistry())
	return &testService{cfg, &logs, log, srv, ready}
}

func (s *testService) get(path string, header ...string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	s.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func TestReadyOnlyAfterStartup(t *testing.T) {
	s := newTestService(t, goodEnv())
	if code := s.get("/healthz").Code; code != http.StatusOK {
		t.Fatalf("/healthz = %d before start-up, want 200 (liveness only)", code)
	}
	if code := s.get("/readyz").Code; code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d before start-up, want 503", code)
	}
	if err := startup(context.Background(), s.cfg, s.log, s.ready); err != nil {
		t.Fatalf("startup: %v", err)
	}
	if rec := s.get("/readyz"); rec.Code != http.StatusOK {
		t.Fatalf("/readyz = %d after start-up, want 200: %s", rec.Code, rec.Body)
	}
}
{{#db}}

func TestNotReadyWithoutDatabaseURL(t *testing.T) {
	s := newTestService(t, with(goodEnv(), "DATABASE_URL", ""))
	if err := startup(context.Background(), s.cfg, s.log, s.ready); err != nil {
		t.Fatalf("startup: %v", err)
	}
	rec := s.get("/readyz")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "DATABASE_URL is not set") {
		t.Fatalf("/readyz = %d %s without DATABASE_URL, want 503 saying why", rec.Code, rec.Body)
	}
	if code := s.get("/healthz").Code; code != http.StatusOK {
		t.Fatalf("/healthz = %d: liveness must never depend on the database", code)
	}
}

func TestFailedMigrationIsRetried(t *testing.T) {
	defer func(m func(context.Context, *url.URL) error, r time.Duration) { migrate, migrateRetry = m, r }(migrate, migrateRetry)
	migrateRetry = time.Millisecond
	calls := 0
	blocked := make(chan struct{})
	proceed := make(chan struct{})
	migrate = func(ctx context.Context, u *url.URL) error {
		calls++
		if calls == 2 {
			close(blocked)
			<-proceed
			return errors.New("connection refused")
		}
		if calls < 3 {
			return errors.New("connection refused")
		}
		return nil
	}
	s := newTestService(t, goodEnv())
	done := make(chan error, 1)
	go func() { done <- startup(context.Background(), s.cfg, s.log, s.ready) }()
	<-blocked
	rec := s.get("/readyz")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "connection refused") {
		t.Errorf("/readyz = %d %s while the migration fails, want 503 saying why", rec.Code, rec.Body)
	}
	if code := s.get("/healthz").Code; code != http.StatusOK {
		t.Errorf("/healthz = %d during the migration, want 200", code)
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatalf("startup: %v", err)
	}
	if calls != 3 {
		t.Errorf("%d migration attempts, want 3", calls)
	}
	if code := s.get("/readyz").Code; code != http.StatusOK {
		t.Fatalf("/readyz = %d after the migration, want 200", code)
	}
}

func TestTerminatedDuringMigration(t *testing.T) {
	s := newTestService(t, goodEnv())
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGTERM during the migration
	if err := startup(ctx, s.cfg, s.log, s.ready); err == nil {
		t.Fatal("startup succeeded although it was terminated")
	}
	if code := s.get("/readyz").Code; code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d after a stopped migration, want 503", code)
	}
}
{{/db}}
{{#queue}}

func TestNotReadyWithoutKafkaBrokers(t *testing.T) {
	s := newTestService(t, with(goodEnv(), "KAFKA_BROKERS", ""))
	if err := startup(context.Background(), s.cfg, s.log, s.ready); err != nil {
		t.Fatalf("startup: %v", err)
	}
	rec := s.get("/readyz")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "KAFKA_BROKERS") {
		t.Fatalf("/readyz = %d %s without KAFKA_BROKERS, want 503 saying why", rec.Code, rec.Body)
	}
}
{{/queue}}
{{/cron}}
{{#api}}

func TestHello(t *testing.T) {
	s := newTestService(t, goodEnv())
	cases := []struct {
		path, want string
		code       int
	}{
		{"/hello?name=Ada", "hello, Ada", http.StatusOK},
		{"/hello", "hello, world", http.StatusOK},
		{"/hello?name=" + url.QueryEscape(`"quoted" & <tagged>`), `hello, "quoted" & <tagged>`, http.StatusOK},
		{"/hello?name=" + strings.Repeat("a", 101), "", http.StatusBadRequest},
	}
	for _, c := range cases {
		rec := s.get(c.path)
		if rec.Code != c.code {
			t.Errorf("GET %s = %d, want %d", c.path, rec.Code, c.code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", c.path, ct)
		}
		var body struct{ Message string }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("GET %s: not JSON: %v", c.path, err)
		}
		if body.Message != c.want {
			t.Errorf("GET %s: message %q, want %q", c.path, body.Message, c.want)
		}
	}
	rec := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hello", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Errorf("POST /hello = %d (Allow %q), want 405 with Allow", rec.Code, rec.Header().Get("Allow"))
	}
}

const (
	callerTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerParent = "00f067aa0ba902b7"
)

func TestHelloPropagatesTraceToGreeter(t *testing.T) {
	var got string
	greeter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("traceparent")
		fmt.Fprintf(w, `{"message":"hi, %s"}`, r.URL.Query().Get("name"))
	}))
	defer greeter.Close()
	var logs bytes.Buffer
	log := logging.New(&logs, "test", logging.LevelInfo)
	tracer := tracing.New("test", nil)
	s := server.New(log, tracer, metrics.NewRegistry(), server.NewReadiness())
	s.Handle("/hello", &hello{log: log, client: tracing.NewClient(tracer, 5*time.Second), greeter: greeter.URL})

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/hello?name=Ada", nil)
	req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerParent+"-01")
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "hi, Ada") {
		t.Fatalf("GET /hello = %d %s", rec.Code, rec.Body)
	}
	sc, err := tracing.ParseTraceparent(got)
	if err != nil {
		t.Fatalf("greeter got traceparent %q: %v", got, err)
	}
	if sc.TraceID.String() != callerTrace {
		t.Errorf("greeter got trace id %s, want the caller's %s", sc.TraceID, callerTrace)
	}
	if sc.SpanID.String() == callerParent {
		t.Errorf("greeter got the caller's parent id: want a new span id")
	}

	// Without a valid traceparent, a new trace starts and is passed on.
	req = httptest.NewRequest(http.MethodGet, "/hello?name=Ada", nil)
	req.Header.Set("traceparent", "00-not-a-trace-01")
	s.Handler().ServeHTTP(httptest.NewRecorder(), req)
	sc, err = tracing.ParseTraceparent(got)
	if err != nil || sc.TraceID.String() == callerTrace {
		t.Errorf("after an invalid traceparent the greeter got %q (%v), want a new trace", got, err)
	}

	// A failing greeter is a 502, not a crash.
	greeter.Close()
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hello", nil))
	if rec.Code != http.StatusBadGateway {
		t.Errorf("GET /hello with the greeter down = %d, want 502", rec.Code)
	}
}

func TestMetricsAndLogs(t *testing.T) {
	s := newTestService(t, goodEnv())
	s.get("/hello?name=Ada", "traceparent", "00-"+callerTrace+"-"+callerParent+"-01")
	body := s.get("/metrics").Body.String()
	for _, want := range []string{
		"# TYPE http_requests_total counter",
		`http_requests_total{route="/hello",method="GET",code="200"} 1`,
		"# TYPE http_request_duration_seconds histogram",
		`http_request_duration_seconds_bucket{route="/hello",le="0.5"} 1`,
		`http_request_duration_seconds_count{route="/hello"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	var access map[string]interface{}
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"request"`) {
			if err := json.Unmarshal([]byte(line), &access); err != nil {
				t.Fatalf("log line is not JSON: %v: %s", err, line)
			}
		}
	}
	if access == nil {
		t.Fatalf("no request log line in:\n%s", s.logs)
	}
	if access["trace_id"] != callerTrace || access["service"] != "{{service.name}}" || access["level"] != "info" {
		t.Errorf("request log line %v: want the caller's trace_id, the service and a level", access)
	}
	if _, ok := access["span_id"].(string); !ok {
		t.Errorf("request log line has no span_id: %v", access)
	}
}
{{/api}}
{{#worker}}
{{#queue}}

func TestKafkaConsumerNotWrittenYet(t *testing.T) {
	// Delete this test once internal/worker/kafka.go has a consumer.
	cfg, _ := loadConfig(envOf(goodEnv()))
	var logs bytes.Buffer
	if _, err := newSource(cfg, logging.New(&logs, "test", logging.LevelInfo)); err != worker.ErrNoKafkaClient {
		t.Fatalf("newSource = %v, want ErrNoKafkaClient", err)
	}
	var out syncBuffer
	if code := run(context.Background(), envOf(with(goodEnv(), "PORT", fmt.Sprint(freePort(t)))), &out); code != 1 || !strings.Contains(out.String(), "internal/worker/kafka.go") {
		t.Fatalf("run = %d, logs %s: want 1 and where to write the consumer", code, out.String())
	}
}
{{/queue}}

{{#db}}
func TestNoJobsWithoutDatabase(t *testing.T) {
	defer func(f func(config, *logging.Logger) (worker.Source, error)) { newSource = f }(newSource)
	src := worker.NewMemorySource(worker.Job{ID: "1"})
	newSource = func(config, *logging.Logger) (worker.Source, error) { return src, nil }
	env := with(with(goodEnv(), "DATABASE_URL", ""), "PORT", fmt.Sprint(freePort(t)))
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, envOf(env), &logs) }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "taking no jobs"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no \"taking no jobs\" line:\n%s", logs.String())
		}
	}
	cancel()
	if code := <-exited; code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if src.Depth() != 1 {
		t.Error("a job was taken although the database is not configured")
	}
}

{{/db}}
func TestHandleAcceptsJob(t *testing.T) {
	var logs bytes.Buffer
	log := logging.New(&logs, "test", logging.LevelDebug)
	if err := handle(log)(context.Background(), worker.Job{ID: "7", Payload: []byte("x")}); err != nil {
		t.Fatalf("handle: %v", err)
	}
	if !strings.Contains(logs.String(), `"job_id":"7"`) {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestWorkerRunsJobsThroughHandle(t *testing.T) {
	var logs bytes.Buffer
	log := logging.New(&logs, "test", logging.LevelInfo)
	src := worker.NewMemorySource(worker.Job{ID: "1"}, worker.Job{ID: "2"})
	src.Close()
	reg := metrics.NewRegistry()
	w := worker.New(src, handle(log), log, tracing.New("test", nil), reg)
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_ = reg.WriteText(&out)
	if !strings.Contains(out.String(), `worker_jobs_processed_total{outcome="ok"} 2`) {
		t.Errorf("metrics:\n%s", out.String())
	}
	if len(src.Acked()) != 2 {
		t.Errorf("acked %v", src.Acked())
	}
}
{{/worker}}
{{^cron}}

// syncBuffer is a bytes.Buffer the service and the test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestRunServesAndStops runs the service as main does, checks its
// endpoints over HTTP and stops it the way SIGTERM does.
func TestRunServesAndStops(t *testing.T) {
	drainDelay = 0
{{#worker}}
{{#queue}}
	defer func(f func(config, *logging.Logger) (worker.Source, error)) { newSource = f }(newSource)
	newSource = func(config, *logging.Logger) (worker.Source, error) { return worker.NewMemorySource(), nil }
{{/queue}}
{{/worker}}
	port := freePort(t)
	env := with(goodEnv(), "PORT", fmt.Sprint(port))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, envOf(env), &logs) }()

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	checks := [][2]string{
		{"/healthz", "ok"},
{{#api}}
		{"/hello?name=Ada", "hello, Ada"},
{{/api}}
{{#worker}}
		{"/metrics", "worker_queue_depth"},
{{/worker}}
	}
	for _, c := range checks {
		path, want := c[0], c[1]
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d %q, want 200 with %q", path, resp.StatusCode, b, want)
		}
	}
	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit code %d after shutdown, want 0:\n%s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not stop after its context ended")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]interface{}
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["time"] == nil || m["level"] == nil || m["msg"] == nil || m["service"] != "{{service.name}}" {
			t.Errorf("not a structured log line: %s", line)
		}
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	var logs syncBuffer
	if code := run(context.Background(), envOf(map[string]string{"PORT": "http"}), &logs); code != 1 {
		t.Fatalf("exit code %d with PORT=http, want 1", code)
	}
	if !strings.Contains(logs.String(), "bad configuration") {
		t.Errorf("logs: %s", logs.String())
	}
}
{{/cron}}
{{#cron}}

func testJob(t *testing.T) (*logging.Logger, *bytes.Buffer, *jobMetrics) {
	t.Helper()
	var logs bytes.Buffer
	return logging.New(&logs, "test", logging.LevelInfo), &logs, newJobMetrics(metrics.NewRegistry())
}

func TestJobSuccessExitsZero(t *testing.T) {
	log, logs, m := testJob(t)
	code := runJob(context.Background(), time.Minute, log, tracing.New("test", nil), m, func(ctx context.Context) error {
		if tracing.SpanFromContext(ctx) == nil {
			t.Error("the job runs outside a span")
		}
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the job has no deadline")
		}
		return nil
	})
	if code != 0 {
		t.Fatalf("exit code %d, want 0:\n%s", code, logs)
	}
	if !strings.Contains(logs.String(), `"msg":"job succeeded"`) || m.lastSuccess.Value() == 0 {
		t.Errorf("success not recorded: %s", logs)
	}
	var out bytes.Buffer
	_ = m.reg.WriteText(&out)
	for _, name := range []string{"cron_job_last_success_timestamp_seconds", "cron_job_duration_seconds_count 1"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("metrics lack %q:\n%s", name, out.String())
		}
	}
}

func TestJobFailureExitsOne(t *testing.T) {
	log, logs, m := testJob(t)
	code := runJob(context.Background(), time.Minute, log, tracing.New("test", nil), m, func(context.Context) error {
		return errors.New("upstream refused")
	})
	if code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !strings.Contains(logs.String(), "upstream refused") || m.lastSuccess.Value() != 0 {
		t.Errorf("failure not logged or success recorded: %s", logs)
	}
}

func TestJobDeadlineExitsOne(t *testing.T) {
	log, logs, m := testJob(t)
	code := runJob(context.Background(), 20*time.Millisecond, log, tracing.New("test", nil), m, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if code != 1 || !strings.Contains(logs.String(), `"reason":"deadline exceeded"`) {
		t.Fatalf("exit code %d, logs %s: want 1 and the deadline named", code, logs)
	}
}

func TestJobPanicExitsOne(t *testing.T) {
	log, logs, m := testJob(t)
	code := runJob(context.Background(), time.Minute, log, tracing.New("test", nil), m, func(context.Context) error {
		panic("nil map")
	})
	if code != 1 || !strings.Contains(logs.String(), "job panicked: nil map") {
		t.Fatalf("exit code %d, logs %s", code, logs)
	}
}

func TestRunExitCodes(t *testing.T) {
	var logs bytes.Buffer
	if code := run(context.Background(), envOf(goodEnv()), &logs); code != 0 {
		t.Fatalf("run = %d with a good environment, want 0:\n%s", code, logs.String())
	}
	if code := run(context.Background(), envOf(with(goodEnv(), "LOG_LEVEL", "loud")), &logs); code != 1 {
		t.Errorf("run = %d with LOG_LEVEL=loud, want 1", code)
	}
{{#db}}
	if code := run(context.Background(), envOf(with(goodEnv(), "DATABASE_URL", "")), &logs); code != 1 {
		t.Errorf("run = %d without DATABASE_URL, want 1", code)
	}
{{/db}}
{{#queue}}
	if code := run(context.Background(), envOf(with(goodEnv(), "KAFKA_BROKERS", "")), &logs); code != 1 {
		t.Errorf("run = %d without KAFKA_BROKERS, want 1", code)
	}
{{/queue}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGTERM before the job ran
	if code := run(ctx, envOf(goodEnv()), &logs); code != 1 {
		t.Errorf("run = %d when terminated, want 1", code)
	}
}
{{/cron}}

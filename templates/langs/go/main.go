{{#api}}
// Command {{service.name}} is an HTTP API: GET /hello, plus /healthz
// (liveness), /readyz (readiness) and /metrics on $PORT, JSON logs on
// stdout, W3C traceparent propagation, graceful shutdown on SIGTERM.
{{/api}}
{{#worker}}
// Command {{service.name}} is a worker: a loop that takes jobs from a
// source and processes them, with /healthz (liveness), /readyz (readiness)
// and /metrics on $PORT, JSON logs on stdout, W3C traceparent continued
// from each job, and a graceful stop on SIGTERM.
{{/worker}}
{{#cron}}
// Command {{service.name}} is a one-shot job, run by a Kubernetes CronJob
// (k8s/cronjob.yaml): it does its work once within a deadline, logs JSON on
// stdout and exits 0 on success, 1 on failure.
{{/cron}}
//
// Configuration is the environment only: PORT (8080), LOG_LEVEL (info),
// OTEL_SERVICE_NAME ({{service.name}}), OTEL_EXPORTER_OTLP_ENDPOINT{{#db}},
// DATABASE_URL{{/db}}{{#queue}}, KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_GROUP{{/queue}}.
package main

import (
	"context"
	"fmt"
	"io"
{{^cron}}
{{#db}}
	"net/url"
{{/db}}
{{/cron}}
	"os"
	"os/signal"
{{^cron}}
	"strconv"
{{/cron}}
{{#worker}}
{{#queue}}
	"strings"
{{/queue}}
{{/worker}}
	"syscall"
	"time"

{{#db}}
	"{{service.name}}/internal/db"
{{/db}}
	"{{service.name}}/internal/logging"
	"{{service.name}}/internal/metrics"
{{#queue}}
	"{{service.name}}/internal/queue"
{{/queue}}
{{^cron}}
	"{{service.name}}/internal/server"
{{/cron}}
	"{{service.name}}/internal/tracing"
{{#worker}}
	"{{service.name}}/internal/worker"
{{/worker}}
)

const serviceName = "{{service.name}}"
{{^cron}}

// drainDelay is how long the server keeps serving after SIGTERM, failing
// /readyz, while Kubernetes takes the pod out of its Service's endpoints.
// A variable so that tests can shorten it.
var drainDelay = {{#api}}5 * time.Second{{/api}}{{^api}}time.Duration(0){{/api}}
{{/cron}}

{{#cron}}
// jobDeadline bounds one run. It stays under the CronJob's
// activeDeadlineSeconds (600 s in k8s/cronjob.yaml), so that a run that
// hangs fails with a clear log line before Kubernetes kills it: change
// both together.
const jobDeadline = 9 * time.Minute

{{/cron}}
// config is everything the service reads from its environment.
type config struct {
	Service      string // OTEL_SERVICE_NAME: the name in logs and spans
	LogLevel     logging.Level
	OTLPEndpoint string // OTEL_EXPORTER_OTLP_ENDPOINT: see internal/tracing/export.go
{{^cron}}
	Port         int
	DrainDelay   time.Duration
{{/cron}}
{{#db}}
	DatabaseURL  string // from Secret {{service.name}}-db, key url
{{/db}}
{{#queue}}
	Queue        queue.Config
{{/queue}}
}

// loadConfig reads the environment through getenv. On error the returned
// config still has what a logger needs.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		Service:      getenv("OTEL_SERVICE_NAME"),
		LogLevel:     logging.LevelInfo,
		OTLPEndpoint: getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
{{^cron}}
		Port:         8080,
		DrainDelay:   drainDelay,
{{/cron}}
{{#db}}
		DatabaseURL:  getenv("DATABASE_URL"),
{{/db}}
{{#queue}}
		Queue:        queue.FromEnv(getenv, serviceName),
{{/queue}}
	}
	if c.Service == "" {
		c.Service = serviceName
	}
	lvl, err := logging.ParseLevel(getenv("LOG_LEVEL"))
	if err != nil {
		return c, err
	}
	c.LogLevel = lvl
{{^cron}}
	if p := getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("PORT %q: want a port number from 1 to 65535", p)
		}
		c.Port = n
	}
{{/cron}}
	return c, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Getenv, os.Stdout)
	stop()
	os.Exit(code)
}

// setup reads the configuration and makes the logger and the tracer.
func setup(ctx context.Context, getenv func(string) string, stdout io.Writer) (config, *logging.Logger, *tracing.Tracer, error) {
	cfg, err := loadConfig(getenv)
	log := logging.New(stdout, cfg.Service, cfg.LogLevel)
	if err != nil {
		return cfg, log, nil, err
	}
	// Spans go to the log stream as JSON lines; OTLP is the upgrade path.
	tracer := tracing.New(cfg.Service, tracing.NewJSONExporter(log))
	if cfg.OTLPEndpoint != "" {
		log.Warn(ctx, "OTEL_EXPORTER_OTLP_ENDPOINT is set, but this build exports spans as JSON log lines: add an OTLP exporter (internal/tracing/export.go)",
			"endpoint", cfg.OTLPEndpoint)
	}
	return cfg, log, tracer, nil
}
{{^cron}}

// run serves until ctx ends (SIGTERM) and returns the exit code.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) int {
	cfg, log, tracer, err := setup(ctx, getenv, stdout)
	if err != nil {
		log.Error(ctx, "bad configuration", "err", err)
		return 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	reg := metrics.NewRegistry()
	srv, ready := newServer(cfg, log, tracer, reg)
{{#worker}}
	src, err := newSource(cfg, log)
	if err != nil {
		log.Error(ctx, "cannot start the worker", "err", err)
		return 1
	}
	w := worker.New(src, handle(log), log, tracer, reg)
	srv.SetLiveness(w.Check)
{{/worker}}
	served := make(chan error, 1)
	go func() {
		err := srv.Run(ctx, ":"+strconv.Itoa(cfg.Port))
		if err != nil {
			cancel() // the process cannot be healthy without its server
		}
		served <- err
	}()

	if err := startup(ctx, cfg, log, ready); err != nil {
		log.Error(ctx, "start-up failed", "err", err)
		cancel()
		<-served
		return 1
	}
{{#worker}}
	if ok, why := ready.Ready(); !ok {
		// Missing configuration: stay up and not ready, take no job.
		log.Error(ctx, "not ready: taking no jobs", "waiting", why)
		<-ctx.Done()
	} else if err := w.Run(ctx); err != nil {
		// Run returns nil when ctx ends, after the job in hand is done.
		log.Error(ctx, "worker failed", "err", err)
		cancel()
		<-served
		return 1
	}
{{/worker}}
	if err := <-served; err != nil {
		log.Error(context.Background(), "server failed", "err", err)
		return 1
	}
	log.Info(context.Background(), "stopped")
	return 0
}

// newServer makes the HTTP server and its routes; it is not ready until
// startup has run.
func newServer(cfg config, log *logging.Logger, tracer *tracing.Tracer, reg *metrics.Registry) (*server.Server, *server.Readiness) {
	ready := server.NewReadiness()
	ready.Wait("startup", "starting")
	srv := server.New(log, tracer, reg, ready)
	srv.DrainDelay = cfg.DrainDelay
{{#api}}
	srv.Handle("/hello", &hello{log: log, client: tracing.NewClient(tracer, 5*time.Second)})
{{/api}}
	return srv, ready
}

// startup does what must happen before the service takes traffic{{#db}}: the
// database migration{{/db}}. /healthz answers 200 all along (the
// startupProbe gives start-up 300 s); /readyz answers 503 until it is done
// and every dependency is configured. It returns an error only when ctx
// ends first (SIGTERM), which stops the process.
func startup(ctx context.Context, cfg config, log *logging.Logger, ready *server.Readiness) error {
{{#db}}
	u, err := db.ParseURL(cfg.DatabaseURL)
	if err != nil {
		// Not ready rather than crashing: the pod stays up and says why.
		ready.Wait("database", err.Error())
		log.Error(ctx, "no database: not ready", "err", err)
	} else if err := migrateUntilDone(ctx, u, log, ready); err != nil {
		return err
	}
{{/db}}
{{#queue}}
	if m := cfg.Queue.Missing(); m != "" {
		ready.Wait("queue", m)
		log.Error(ctx, "no Kafka brokers: not ready", "err", m)
	}
{{/queue}}
	ready.Done("startup")
	log.Info(ctx, "started", "port", cfg.Port)
	return nil
}
{{#db}}

// migrate and migrateRetry are variables so that tests can make the
// migration fail and retry quickly.
var (
	migrate      = db.Migrate
	migrateRetry = time.Second
)

// migrateUntilDone runs the migration, retrying a failure 1 s to 30 s
// apart (the database may still be starting, or a lock held by another
// pod), until it succeeds or ctx ends. The pod stays alive and not ready
// meanwhile, and says why in /readyz and the logs.
func migrateUntilDone(ctx context.Context, u *url.URL, log *logging.Logger, ready *server.Readiness) error {
	ready.Wait("startup", "migrating the database")
	log.Info(ctx, "migrating the database", "database", db.Redacted(u))
	wait := migrateRetry
	for {
		start := time.Now()
		err := migrate(ctx, u)
		if err == nil {
			log.Info(ctx, "database migrated", "took", time.Since(start))
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("database migration stopped: %w", ctx.Err())
		}
		ready.Wait("startup", "database migration failed, retrying: "+err.Error())
		log.Error(ctx, "database migration failed", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return fmt.Errorf("database migration stopped: %w", ctx.Err())
		case <-time.After(wait):
		}
		if wait *= 2; wait > 30*migrateRetry {
			wait = 30 * migrateRetry
		}
	}
}
{{/db}}
{{/cron}}
{{#worker}}

// newSource returns where jobs come from (a variable so that tests can
// use an in-memory source).
var newSource = func(cfg config, log *logging.Logger) (worker.Source, error) {
{{#queue}}
	src, err := worker.NewKafkaSource(cfg.Queue)
	if err == nil {
		log.Info(context.Background(), "consuming from Kafka", "brokers", strings.Join(cfg.Queue.Brokers, ","),
			"topic", cfg.Queue.Topic, "group", cfg.Queue.Group)
	}
	return src, err
{{/queue}}
{{^queue}}
	// No queue: the worker polls, e.g. an outbox table. Replace the
	// source with your own (internal/worker/source.go).
	return &worker.TickSource{Interval: 15 * time.Second}, nil
{{/queue}}
}

// handle does the work of one job: replace it with yours. Return an error
// to count the job as failed; ctx carries the job's span (its trace_id is
// in the logs) and JobTimeout.
func handle(log *logging.Logger) worker.Handler {
	return func(ctx context.Context, job worker.Job) error {
		log.Debug(ctx, "handling job", "job_id", job.ID, "bytes", len(job.Payload))
		return nil
	}
}
{{/worker}}
{{#cron}}

// run does the job once and returns the exit code.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) int {
	cfg, log, tracer, err := setup(ctx, getenv, stdout)
	if err != nil {
		log.Error(ctx, "bad configuration", "err", err)
		return 1
	}
	m := newJobMetrics(metrics.NewRegistry())
	return runJob(ctx, jobDeadline, log, tracer, m, func(ctx context.Context) error {
		return work(ctx, cfg, log)
	})
}

// work is the job: replace it with yours. It must return when ctx ends
// (the deadline, or SIGTERM from Kubernetes).
func work(ctx context.Context, cfg config, log *logging.Logger) error {
{{#db}}
	u, err := db.ParseURL(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	// Open the database here (see internal/db) and do the work.
	log.Info(ctx, "database configured", "database", db.Redacted(u))
{{/db}}
{{#queue}}
	if m := cfg.Queue.Missing(); m != "" {
		return fmt.Errorf("kafka: %s", m)
	}
	// Produce to cfg.Queue.Topic here (see internal/queue).
{{/queue}}
	log.Info(ctx, "hello from {{service.name}}")
	return ctx.Err()
}

// jobMetrics are the job's metrics. A CronJob's pod is gone before
// Prometheus could scrape it and they are pushed nowhere: the alerts use
// kube-state-metrics instead (kube_job_status_failed,
// kube_job_failed{reason="DeadlineExceeded"},
// kube_cronjob_status_last_successful_time). They are kept so that a
// Pushgateway, if your platform runs one, is one call away, and their
// values are in the job's last log line.
type jobMetrics struct {
	reg         *metrics.Registry
	lastSuccess *metrics.Gauge
	duration    *metrics.HistogramVec
}

func newJobMetrics(reg *metrics.Registry) *jobMetrics {
	return &jobMetrics{
		reg: reg,
		lastSuccess: reg.Gauge("cron_job_last_success_timestamp_seconds",
			"Unix time of the last successful run."),
		duration: reg.Histogram("cron_job_duration_seconds",
			"Time one run took.", []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}),
	}
}

// runJob runs job once within deadline, inside a span, and returns the exit
// code: 0 when it returned nil, 1 when it failed, panicked or ran out of
// time.
func runJob(ctx context.Context, deadline time.Duration, log *logging.Logger, tracer *tracing.Tracer, m *jobMetrics, job func(context.Context) error) int {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	ctx, span := tracer.Start(ctx, "cron "+serviceName, tracing.KindInternal)
	defer span.End()
	log.Info(ctx, "job started", "deadline", deadline)

	start := time.Now()
	err := safeRun(ctx, job)
	took := time.Since(start)
	m.duration.With().Observe(took.Seconds())
	span.SetError(err)
	if err != nil {
		reason := "failed"
		if ctx.Err() == context.DeadlineExceeded {
			reason = "deadline exceeded"
		}
		log.Error(ctx, "job failed", "reason", reason, "err", err,
			"cron_job_duration_seconds", took.Seconds())
		return 1
	}
	m.lastSuccess.Set(float64(time.Now().Unix()))
	log.Info(ctx, "job succeeded", "cron_job_duration_seconds", took.Seconds(),
		"cron_job_last_success_timestamp_seconds", m.lastSuccess.Value())
	return 0
}

func safeRun(ctx context.Context, job func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job panicked: %v", p)
		}
	}()
	return job(ctx)
}
{{/cron}}

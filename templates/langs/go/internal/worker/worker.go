{{#worker}}
// Package worker runs the service's job loop: it takes jobs from a Source
// (a Kafka consumer, a table to poll, or memory in tests), runs each in its
// own trace span, and counts them in worker_jobs_processed_total,
// worker_job_duration_seconds and worker_queue_depth.
//
// On shutdown it stops taking jobs and lets the job in hand finish (up to
// JobTimeout); it never drops a job it has taken without calling its
// handler, and never acknowledges one before its handler returned.
package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"{{service.name}}/internal/logging"
	"{{service.name}}/internal/metrics"
	"{{service.name}}/internal/tracing"
)

// Job is one unit of work.
type Job struct {
	ID      string
	Payload []byte
	// Headers travel with the job (Kafka record headers); a traceparent
	// header continues the producer's trace.
	Headers map[string]string
}

// ErrClosed is returned by Source.Next when no job will ever come again;
// the worker then stops.
var ErrClosed = errors.New("worker: source closed")

// Source is where jobs come from.
type Source interface {
	// Next blocks until a job is available, ctx ends (ctx.Err()) or
	// the source is closed (ErrClosed). Other errors are retried.
	Next(ctx context.Context) (Job, error)
	// Ack marks job done, so it is not delivered again (for Kafka:
	// commit its offset).
	Ack(ctx context.Context, job Job) error
	// Depth is how many jobs are waiting (for Kafka: the consumer
	// group's lag), or -1 when the source cannot tell.
	Depth() int64
}

// Handler does the work of one job. An error counts the job as failed.
type Handler func(ctx context.Context, job Job) error

// Worker runs jobs from a source through a handler.
type Worker struct {
	src     Source
	handle  Handler
	log     *logging.Logger
	tracer  *tracing.Tracer
	jobs    *metrics.CounterVec
	depth   *metrics.Gauge
	latency *metrics.HistogramVec

	// JobTimeout bounds one job, including after shutdown began: keep
	// it under the pod's terminationGracePeriodSeconds.
	JobTimeout time.Duration
	// RetryDelay is the wait after a source error before trying again.
	RetryDelay time.Duration

	mu        sync.Mutex
	busyJob   string
	busySince time.Time
}

// New returns a worker, registering its metrics in reg.
func New(src Source, handle Handler, log *logging.Logger, tracer *tracing.Tracer, reg *metrics.Registry) *Worker {
	w := &Worker{
		src:    src,
		handle: handle,
		log:    log,
		tracer: tracer,
		jobs: reg.Counter("worker_jobs_processed_total",
			"Jobs processed, by outcome (ok or error).", "outcome"),
		depth: reg.Gauge("worker_queue_depth",
			"Jobs waiting in the source (consumer lag), -1 when unknown."),
		latency: reg.Histogram("worker_job_duration_seconds",
			"Time to process one job.", metrics.DefBuckets),
		JobTimeout: 20 * time.Second,
		RetryDelay: time.Second,
	}
	// Both outcomes exist from the start, so the error-rate alert has a
	// series to divide by before the first failure.
	w.jobs.With("ok")
	w.jobs.With("error")
	return w
}

// Check is the worker's liveness (server.SetLiveness): an error when the
// job in hand has run for twice JobTimeout, i.e. its handler ignores its
// context and the loop is stuck. A restart redelivers the job, which was
// not acknowledged. It never looks at the source's broker or a database.
func (w *Worker) Check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.busyJob == "" {
		return nil
	}
	if d := time.Since(w.busySince); d > 2*w.JobTimeout {
		return fmt.Errorf("job %q has run for %s, past twice its timeout %s: the worker loop is stuck",
			w.busyJob, d.Round(time.Second), w.JobTimeout)
	}
	return nil
}

// Run takes and processes jobs until ctx ends or the source is closed; it
// returns nil then. A job taken before ctx ended is finished first.
func (w *Worker) Run(ctx context.Context) error {
	w.log.Info(ctx, "worker started")
	defer w.log.Info(context.Background(), "worker stopped")
	for {
		w.depth.Set(float64(w.src.Depth()))
		job, err := w.src.Next(ctx)
		switch {
		case err == nil:
		case errors.Is(err, ErrClosed) || ctx.Err() != nil:
			return nil
		default:
			w.log.Error(ctx, "taking a job failed; retrying", "err", err, "retry_in", w.RetryDelay)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(w.RetryDelay):
			}
			continue
		}
		w.process(job)
	}
}

// process runs one job on a context of its own, so that shutdown does not
// cancel a job half-way; JobTimeout bounds it instead.
func (w *Worker) process(job Job) {
	ctx := tracing.ExtractMap(context.Background(), job.Headers)
	ctx, span := w.tracer.Start(ctx, "job", tracing.KindConsumer)
	defer span.End()
	span.SetAttribute("job.id", job.ID)
	ctx, cancel := context.WithTimeout(ctx, w.JobTimeout)
	defer cancel()

	start := time.Now()
	w.mu.Lock()
	w.busyJob, w.busySince = job.ID, start
	if w.busyJob == "" {
		w.busyJob = "(no id)"
	}
	w.mu.Unlock()
	err := w.safeHandle(ctx, job)
	w.mu.Lock()
	w.busyJob = ""
	w.mu.Unlock()
	took := time.Since(start)
	w.latency.With().Observe(took.Seconds())
	span.SetError(err)
	if err != nil {
		w.jobs.With("error").Inc()
		w.log.Error(ctx, "job failed", "job_id", job.ID, "err", err,
			"duration_ms", float64(took.Microseconds())/1000)
		// A failed job is still acknowledged, so one bad message cannot
		// stop the queue: send it to a dead-letter topic here if it
		// must not be lost.
	} else {
		w.jobs.With("ok").Inc()
		w.log.Info(ctx, "job done", "job_id", job.ID,
			"duration_ms", float64(took.Microseconds())/1000)
	}
	if err := w.src.Ack(ctx, job); err != nil {
		w.log.Error(ctx, "acknowledging the job failed", "job_id", job.ID, "err", err)
	}
}

func (w *Worker) safeHandle(ctx context.Context, job Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return w.handle(ctx, job)
}
{{/worker}}

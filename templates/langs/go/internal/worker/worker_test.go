{{#worker}}
package worker

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"{{service.name}}/internal/logging"
	"{{service.name}}/internal/metrics"
	"{{service.name}}/internal/tracing"
)

func newTestWorker(src Source, h Handler) (*Worker, *metrics.Registry, *tracing.MemoryExporter, *bytes.Buffer) {
	var logs bytes.Buffer
	reg := metrics.NewRegistry()
	exp := &tracing.MemoryExporter{}
	w := New(src, h, logging.New(&logs, "test", logging.LevelInfo), tracing.New("test", exp), reg)
	w.RetryDelay = time.Millisecond
	return w, reg, exp, &logs
}

func TestProcessesEveryJob(t *testing.T) {
	src := NewMemorySource(
		Job{ID: "1", Payload: []byte("a")},
		Job{ID: "2", Payload: []byte("fail")},
		Job{ID: "3", Payload: []byte("panic")},
		Job{ID: "4", Payload: []byte("b")},
	)
	src.Close()
	var seen []string
	w, reg, _, logs := newTestWorker(src, func(ctx context.Context, j Job) error {
		seen = append(seen, j.ID)
		switch string(j.Payload) {
		case "fail":
			return errors.New("bad payload")
		case "panic":
			panic("boom")
		}
		return nil
	})
	if err := w.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if strings.Join(seen, ",") != "1,2,3,4" {
		t.Errorf("handled %v, want 1,2,3,4", seen)
	}
	if got := strings.Join(src.Acked(), ","); got != "1,2,3,4" {
		t.Errorf("acked %v, want every job", got)
	}
	if ok, bad := w.jobs.With("ok").Value(), w.jobs.With("error").Value(); ok != 2 || bad != 2 {
		t.Errorf("processed ok=%v error=%v, want 2 and 2", ok, bad)
	}
	if n := w.latency.With().Count(); n != 4 {
		t.Errorf("%d durations observed, want 4", n)
	}
	var out bytes.Buffer
	_ = reg.WriteText(&out)
	for _, name := range []string{"worker_jobs_processed_total", "worker_queue_depth", "worker_job_duration_seconds_bucket"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("metrics lack %s", name)
		}
	}
	if !strings.Contains(logs.String(), "handler panicked: boom") {
		t.Errorf("the panic was not logged: %s", logs.String())
	}
}

func TestJobContinuesProducerTrace(t *testing.T) {
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	src := NewMemorySource(Job{ID: "1", Headers: map[string]string{
		"traceparent": "00-" + trace + "-00f067aa0ba902b7-01",
	}})
	src.Close()
	var inJob string
	w, _, exp, _ := newTestWorker(src, func(ctx context.Context, j Job) error {
		inJob = tracing.SpanFromContext(ctx).SpanContext().TraceID.String()
		return nil
	})
	_ = w.Run(context.Background())
	if inJob != trace {
		t.Errorf("job ran in trace %s, want the producer's %s", inJob, trace)
	}
	if spans := exp.Spans(); len(spans) != 1 || spans[0].Parent.String() != "00f067aa0ba902b7" {
		t.Errorf("spans %+v", spans)
	}
}

func TestStopsOnCancelAndFinishesJobInHand(t *testing.T) {
	src := NewMemorySource(Job{ID: "1"})
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	w, _, _, _ := newTestWorker(src, func(jctx context.Context, j Job) error {
		cancel() // shutdown begins while the job runs
		time.Sleep(20 * time.Millisecond)
		if jctx.Err() != nil {
			t.Error("shutdown cancelled the job in hand")
		}
		close(finished)
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
	select {
	case <-finished:
	default:
		t.Fatal("the job in hand did not finish")
	}
	if got := src.Acked(); len(got) != 1 {
		t.Errorf("acked %v", got)
	}
}

type flakySource struct {
	*MemorySource
	fails int
}

func (f *flakySource) Next(ctx context.Context) (Job, error) {
	if f.fails > 0 {
		f.fails--
		return Job{}, errors.New("broker unreachable")
	}
	return f.MemorySource.Next(ctx)
}

func TestSourceErrorsAreRetried(t *testing.T) {
	mem := NewMemorySource(Job{ID: "1"})
	mem.Close()
	n := 0
	w, _, _, logs := newTestWorker(&flakySource{mem, 2}, func(context.Context, Job) error { n++; return nil })
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n != 1 || strings.Count(logs.String(), "broker unreachable") != 2 {
		t.Errorf("handled %d, logs %s", n, logs.String())
	}
}

func TestQueueDepthGauge(t *testing.T) {
	src := NewMemorySource(Job{ID: "1"}, Job{ID: "2"}, Job{ID: "3"})
	var depths []float64
	var w *Worker
	w, _, _, _ = newTestWorker(src, func(context.Context, Job) error {
		depths = append(depths, w.depth.Value())
		return nil
	})
	src.Close()
	_ = w.Run(context.Background())
	if len(depths) != 3 || depths[0] != 3 || depths[2] != 1 {
		t.Errorf("depth seen by each job %v, want [3 2 1]", depths)
	}
}

func TestCheckReportsStuckJob(t *testing.T) {
	src := NewMemorySource(Job{ID: "7"})
	src.Close()
	release := make(chan struct{})
	running := make(chan struct{})
	w, reg, _, _ := newTestWorker(src, func(context.Context, Job) error {
		close(running)
		<-release // ignores its context: stuck
		return nil
	})
	var out bytes.Buffer
	_ = reg.WriteText(&out)
	if !strings.Contains(out.String(), `worker_jobs_processed_total{outcome="error"} 0`) {
		t.Errorf("the error series does not start at 0:\n%s", out.String())
	}
	w.JobTimeout = 5 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	<-running
	if err := w.Check(); err != nil {
		t.Errorf("Check at the start of a job: %v", err)
	}
	time.Sleep(30 * time.Millisecond)
	if err := w.Check(); err == nil || !strings.Contains(err.Error(), `"7"`) {
		t.Errorf("Check on a stuck job = %v, want an error naming it", err)
	}
	close(release)
	<-done
	if err := w.Check(); err != nil {
		t.Errorf("Check when idle: %v", err)
	}
}

func TestTickSource(t *testing.T) {
	ts := &TickSource{Interval: time.Millisecond}
	j, err := ts.Next(context.Background())
	if err != nil || j.ID != "tick-1" {
		t.Fatalf("Next = %+v, %v", j, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ts.Interval = time.Hour
	if _, err := ts.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel: %v", err)
	}
}
{{/worker}}

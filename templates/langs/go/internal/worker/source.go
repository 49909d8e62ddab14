{{#worker}}
package worker

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// MemorySource is a Source in memory: jobs pushed in are taken in order.
// Tests use it; it is also a simple in-process queue.
type MemorySource struct {
	mu     sync.Mutex
	jobs   []Job
	acked  []string
	closed bool
	wake   chan struct{}
}

// NewMemorySource returns a source holding jobs.
func NewMemorySource(jobs ...Job) *MemorySource {
	return &MemorySource{jobs: append([]Job(nil), jobs...), wake: make(chan struct{}, 1)}
}

// Push adds jobs at the end.
func (m *MemorySource) Push(jobs ...Job) {
	m.mu.Lock()
	m.jobs = append(m.jobs, jobs...)
	m.mu.Unlock()
	m.signal()
}

// Close makes Next return ErrClosed once the jobs left are taken.
func (m *MemorySource) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.signal()
}

func (m *MemorySource) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Next returns the oldest job, waiting for one if there is none.
func (m *MemorySource) Next(ctx context.Context) (Job, error) {
	for {
		m.mu.Lock()
		if len(m.jobs) > 0 {
			j := m.jobs[0]
			m.jobs = m.jobs[1:]
			m.mu.Unlock()
			return j, nil
		}
		closed := m.closed
		m.mu.Unlock()
		if closed {
			return Job{}, ErrClosed
		}
		select {
		case <-ctx.Done():
			return Job{}, ctx.Err()
		case <-m.wake:
		}
	}
}

// Ack records the job's id.
func (m *MemorySource) Ack(_ context.Context, job Job) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acked = append(m.acked, job.ID)
	return nil
}

// Acked returns the ids acknowledged so far, in order.
func (m *MemorySource) Acked() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.acked...)
}

// Depth is the number of jobs waiting.
func (m *MemorySource) Depth() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.jobs))
}

// TickSource makes a job every Interval: the source of a worker that polls
// (an outbox table, an API) rather than consumes a queue.
type TickSource struct {
	Interval time.Duration
	n        int
}

// Next waits for the next tick.
func (t *TickSource) Next(ctx context.Context) (Job, error) {
	timer := time.NewTimer(t.Interval)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return Job{}, ctx.Err()
	case <-timer.C:
	}
	t.n++
	return Job{ID: "tick-" + strconv.Itoa(t.n)}, nil
}

// Ack does nothing: a tick is not redelivered.
func (t *TickSource) Ack(context.Context, Job) error { return nil }

// Depth is 0: ticks never wait.
func (t *TickSource) Depth() int64 { return 0 }
{{/worker}}

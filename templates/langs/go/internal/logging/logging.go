// Package logging writes structured logs: one JSON object per line with
// time, level, msg, service, trace_id and span_id (when the context carries
// a span), then the caller's fields. It is a small stand-in for log/slog,
// which arrives in Go 1.21; the toolchain here is 1.19.
//
// It never buffers (each line is one write, so a crash loses nothing) and
// never panics on a bad field.
package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"{{service.name}}/internal/tracing"
)

// Level is the severity of a line.
type Level int

// The levels, lowest first.
const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelError
)

var levelNames = [...]string{"debug", "info", "warn", "error"}

func (l Level) String() string {
	if l < LevelDebug || l > LevelError {
		return "info"
	}
	return levelNames[l]
}

// ParseLevel reads LOG_LEVEL: debug, info, warn (or warning), error; empty
// is info.
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return LevelDebug, nil
	case "", "info":
		return LevelInfo, nil
	case "warn", "warning":
		return LevelWarn, nil
	case "error":
		return LevelError, nil
	}
	return LevelInfo, fmt.Errorf("LOG_LEVEL %q: use debug, info, warn or error", s)
}

// Logger writes JSON lines for one service. It is safe for concurrent use
// and is also an io.Writer that keeps lines whole, so the tracing exporter
// can share its output.
type Logger struct {
	mu      sync.Mutex
	w       io.Writer
	service string
	min     Level
	now     func() time.Time
}

// New returns a logger writing lines at or above min to w.
func New(w io.Writer, service string, min Level) *Logger {
	return &Logger{w: w, service: service, min: min, now: time.Now}
}

// Debug logs msg with fields given as key, value pairs.
func (l *Logger) Debug(ctx context.Context, msg string, kv ...interface{}) {
	l.log(ctx, LevelDebug, msg, kv)
}

// Info logs msg with fields given as key, value pairs.
func (l *Logger) Info(ctx context.Context, msg string, kv ...interface{}) {
	l.log(ctx, LevelInfo, msg, kv)
}

// Warn logs msg with fields given as key, value pairs.
func (l *Logger) Warn(ctx context.Context, msg string, kv ...interface{}) {
	l.log(ctx, LevelWarn, msg, kv)
}

// Error logs msg with fields given as key, value pairs; an error value is
// written as its message.
func (l *Logger) Error(ctx context.Context, msg string, kv ...interface{}) {
	l.log(ctx, LevelError, msg, kv)
}

// Write writes p as it is, under the lock that keeps lines whole.
func (l *Logger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *Logger) log(ctx context.Context, lvl Level, msg string, kv []interface{}) {
	if l == nil || lvl < l.min {
		return
	}
	var b bytes.Buffer
	b.WriteString(`{"time":`)
	writeJSON(&b, l.now().UTC().Format(time.RFC3339Nano))
	b.WriteString(`,"level":`)
	writeJSON(&b, lvl.String())
	b.WriteString(`,"msg":`)
	writeJSON(&b, msg)
	b.WriteString(`,"service":`)
	writeJSON(&b, l.service)
	if ctx != nil {
		if sc := tracing.SpanFromContext(ctx).SpanContext(); sc.IsValid() {
			b.WriteString(`,"trace_id":`)
			writeJSON(&b, sc.TraceID.String())
			b.WriteString(`,"span_id":`)
			writeJSON(&b, sc.SpanID.String())
		}
	}
	for i := 0; i < len(kv); i += 2 {
		key, ok := kv[i].(string)
		if !ok {
			key = "!BADKEY"
		}
		var v interface{} = "!MISSING"
		if i+1 < len(kv) {
			v = kv[i+1]
		}
		b.WriteByte(',')
		writeJSON(&b, key)
		b.WriteByte(':')
		writeJSON(&b, value(v))
	}
	b.WriteString("}\n")
	_, _ = l.Write(b.Bytes())
}

// value turns what JSON would write badly into text: errors (an empty
// object otherwise), durations (nanoseconds otherwise) and Stringers.
func value(v interface{}) interface{} {
	switch x := v.(type) {
	case error:
		return x.Error()
	case time.Duration:
		return x.String()
	case fmt.Stringer:
		return x.String()
	}
	return v
}

func writeJSON(b *bytes.Buffer, v interface{}) {
	enc, err := json.Marshal(v)
	if err != nil {
		enc, _ = json.Marshal(fmt.Sprint(v))
	}
	b.Write(enc)
}

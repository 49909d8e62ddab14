// Package metrics keeps counters, gauges and histograms and writes them in
// the Prometheus text exposition format (version 0.0.4) for /metrics. It
// is a small stand-in for the Prometheus client library, which cannot be
// downloaded here; the names and the output are the same, so dashboards
// and alerts do not change if you switch to
// github.com/prometheus/client_golang later.
//
// It never pushes anywhere: Prometheus scrapes /metrics.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// DefBuckets are Prometheus's default latency buckets, in seconds; 0.5 is
// one of them because the platform's latency alert is on p99 > 500 ms.
var DefBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

var nameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// Registry holds the metrics of one process.
type Registry struct {
	mu       sync.Mutex
	families []family
	names    map[string]bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{names: map[string]bool{}}
}

type family interface {
	write(w *bufio.Writer)
}

// register panics on a bad or repeated name: that is a programming error
// that the first test run shows.
func (r *Registry) register(name string, labels []string, f family) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !nameRE.MatchString(name) || r.names[name] {
		panic(fmt.Sprintf("metrics: bad or duplicate metric name %q", name))
	}
	for _, l := range labels {
		if !nameRE.MatchString(l) || strings.HasPrefix(l, "__") || l == "le" {
			panic(fmt.Sprintf("metrics: bad label name %q for %s", l, name))
		}
	}
	r.names[name] = true
	r.families = append(r.families, f)
}

// WriteText writes every metric in the text format, in the order they were
// registered.
func (r *Registry) WriteText(w io.Writer) error {
	r.mu.Lock()
	fams := append([]family(nil), r.families...)
	r.mu.Unlock()
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		f.write(bw)
	}
	return bw.Flush()
}

// Handler serves the registry for Prometheus to scrape.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = r.WriteText(w)
	})
}

// vec is the part every labelled metric shares: its children by label values.
type vec struct {
	name, help, typ string
	labels          []string
	mu              sync.Mutex
	children        map[string]*child
}

type child struct {
	values []string
	mu     sync.Mutex
	value  float64   // counter, gauge
	counts []uint64  // histogram: per bucket, not cumulative
	sum    float64   // histogram
	count  uint64    // histogram
	bounds []float64 // histogram upper bounds
}

func newVec(name, help, typ string, labels []string) *vec {
	return &vec{name: name, help: help, typ: typ, labels: labels, children: map[string]*child{}}
}

func (v *vec) with(values []string, bounds []float64) *child {
	if len(values) != len(v.labels) {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", v.name, len(v.labels), len(values)))
	}
	key := strings.Join(values, "\xff")
	v.mu.Lock()
	defer v.mu.Unlock()
	c := v.children[key]
	if c == nil {
		c = &child{values: append([]string(nil), values...), bounds: bounds}
		if bounds != nil {
			c.counts = make([]uint64, len(bounds))
		}
		v.children[key] = c
	}
	return c
}

// sorted returns the children ordered by label values, so output is stable.
func (v *vec) sorted() []*child {
	v.mu.Lock()
	defer v.mu.Unlock()
	keys := make([]string, 0, len(v.children))
	for k := range v.children {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*child, len(keys))
	for i, k := range keys {
		out[i] = v.children[k]
	}
	return out
}

func (v *vec) header(w *bufio.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", v.name, escapeHelp(v.help), v.name, v.typ)
}

func (v *vec) labelText(c *child, extra ...string) string {
	if len(v.labels) == 0 && len(extra) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	add := func(k, val string) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(val))
		b.WriteByte('"')
	}
	for i, l := range v.labels {
		add(l, c.values[i])
	}
	for i := 0; i+1 < len(extra); i += 2 {
		add(extra[i], extra[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

// CounterVec is a counter with labels, e.g. requests by route and code.
type CounterVec struct{ v *vec }

// Counter is one series of a counter: it only goes up.
type Counter struct{ c *child }

// Counter registers a counter; name should end in _total.
func (r *Registry) Counter(name, help string, labels ...string) *CounterVec {
	cv := &CounterVec{newVec(name, help, "counter", labels)}
	r.register(name, labels, cv)
	return cv
}

// With returns the series for the label values, in the registered order.
func (cv *CounterVec) With(values ...string) Counter {
	return Counter{cv.v.with(values, nil)}
}

// Inc adds one.
func (c Counter) Inc() { c.Add(1) }

// Add adds d; a negative d is ignored, since counters never go down.
func (c Counter) Add(d float64) {
	if d < 0 {
		return
	}
	c.c.mu.Lock()
	c.c.value += d
	c.c.mu.Unlock()
}

// Value returns the current count.
func (c Counter) Value() float64 {
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	return c.c.value
}

func (cv *CounterVec) write(w *bufio.Writer) {
	cv.v.header(w)
	for _, c := range cv.v.sorted() {
		c.mu.Lock()
		fmt.Fprintf(w, "%s%s %s\n", cv.v.name, cv.v.labelText(c), formatFloat(c.value))
		c.mu.Unlock()
	}
}

// Gauge is a value that goes up and down, without labels.
type Gauge struct {
	v *vec
	c *child
}

// Gauge registers a gauge; it reads 0 until set.
func (r *Registry) Gauge(name, help string) *Gauge {
	v := newVec(name, help, "gauge", nil)
	g := &Gauge{v: v, c: v.with(nil, nil)}
	r.register(name, nil, g)
	return g
}

// Set sets the gauge to x.
func (g *Gauge) Set(x float64) {
	g.c.mu.Lock()
	g.c.value = x
	g.c.mu.Unlock()
}

// Value returns the current value.
func (g *Gauge) Value() float64 {
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	return g.c.value
}

func (g *Gauge) write(w *bufio.Writer) {
	g.v.header(w)
	g.c.mu.Lock()
	fmt.Fprintf(w, "%s %s\n", g.v.name, formatFloat(g.c.value))
	g.c.mu.Unlock()
}

// HistogramVec is a histogram with labels.
type HistogramVec struct {
	v      *vec
	bounds []float64
}

// Histogram is one series of a histogram.
type Histogram struct{ c *child }

// Histogram registers a histogram with the given bucket upper bounds
// (sorted; nil means DefBuckets). The +Inf bucket is added for you.
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if buckets == nil {
		buckets = DefBuckets
	}
	b := append([]float64(nil), buckets...)
	if !sort.Float64sAreSorted(b) {
		panic("metrics: buckets of " + name + " are not sorted")
	}
	hv := &HistogramVec{v: newVec(name, help, "histogram", labels), bounds: b}
	r.register(name, labels, hv)
	return hv
}

// With returns the series for the label values.
func (hv *HistogramVec) With(values ...string) Histogram {
	return Histogram{hv.v.with(values, hv.bounds)}
}

// Observe records one value (seconds, for durations).
func (h Histogram) Observe(x float64) {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	for i, ub := range h.c.bounds {
		if x <= ub {
			h.c.counts[i]++
			break
		}
	}
	h.c.sum += x
	h.c.count++
}

// Count returns how many values were observed.
func (h Histogram) Count() uint64 {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	return h.c.count
}

func (hv *HistogramVec) write(w *bufio.Writer) {
	hv.v.header(w)
	for _, c := range hv.v.sorted() {
		c.mu.Lock()
		var cum uint64
		for i, ub := range c.bounds {
			cum += c.counts[i]
			fmt.Fprintf(w, "%s_bucket%s %d\n", hv.v.name, hv.v.labelText(c, "le", formatFloat(ub)), cum)
		}
		fmt.Fprintf(w, "%s_bucket%s %d\n", hv.v.name, hv.v.labelText(c, "le", "+Inf"), c.count)
		fmt.Fprintf(w, "%s_sum%s %s\n", hv.v.name, hv.v.labelText(c), formatFloat(c.sum))
		fmt.Fprintf(w, "%s_count%s %d\n", hv.v.name, hv.v.labelText(c), c.count)
		c.mu.Unlock()
	}
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

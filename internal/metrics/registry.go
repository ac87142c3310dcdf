package metrics

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Registry holds metric families and renders them for a scrape. Its zero
// value is an empty registry ready to use. Registering (a family, or a
// label combination with With) is meant for start-up and config reloads:
// it takes locks and allocates. Updating what it returned is the hot path,
// and takes neither.
//
// Registering panics on a programmer's error: an invalid or duplicate
// name, a counter not named _total, a unit that is not a base unit,
// invalid label names, the wrong number of label values.
type Registry struct {
	mu       sync.Mutex         // guards families and names
	families []*family          // sorted by name
	names    map[string]*family // every name a family renders (samples and metadata), for collisions; made on first use

	scrape sync.Mutex // serializes scrapes, so that collectors' refresh and read see one snapshot
	hooks  []func()   // run under scrape before rendering (collectors' refresh); guarded by mu
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return new(Registry) }

// Counter registers a counter without labels. name ends in _total.
func (r *Registry) Counter(name, help string) *Counter {
	return r.CounterVec(name, help).With()
}

// CounterVec registers a counter family labelled by labels.
func (r *Registry) CounterVec(name, help string, labels ...string) *CounterVec {
	return &CounterVec{r.register(kindCounter, name, help, nil, labels)}
}

// Gauge registers a gauge without labels.
func (r *Registry) Gauge(name, help string) *Gauge {
	return r.GaugeVec(name, help).With()
}

// GaugeVec registers a gauge family labelled by labels.
func (r *Registry) GaugeVec(name, help string, labels ...string) *GaugeVec {
	return &GaugeVec{r.register(kindGauge, name, help, nil, labels)}
}

// Histogram registers a histogram without labels. buckets are its upper
// bounds, ascending and finite (+Inf is implied); nil means
// LatencyBuckets.
func (r *Registry) Histogram(name, help string, buckets []float64) *Histogram {
	return r.HistogramVec(name, help, buckets).With()
}

// HistogramVec registers a histogram family labelled by labels; buckets
// as for Histogram.
func (r *Registry) HistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if buckets == nil {
		buckets = LatencyBuckets()
	}
	return &HistogramVec{r.register(kindHistogram, name, help, checkBuckets(name, buckets), labels)}
}

// CounterFunc registers a counter whose value fn reads at scrape time (a
// total another component keeps, such as CPU seconds). fn runs under the
// scrape's locks: it must be cheap, must not block or register metrics,
// and must never decrease.
func (r *Registry) CounterFunc(name, help string, fn func() float64) {
	r.CounterFuncVec(name, help).Set(fn)
}

// CounterFuncVec registers a family of CounterFuncs labelled by labels.
func (r *Registry) CounterFuncVec(name, help string, labels ...string) *FuncVec {
	return &FuncVec{r.register(kindCounter, name, help, nil, labels)}
}

// GaugeFunc registers a gauge whose value fn reads at scrape time: a
// figure another component owns (workers by state in a pool, the time of
// the last reload). fn runs under the scrape's locks: it must be cheap and
// must not block or register metrics.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	r.GaugeFuncVec(name, help).Set(fn)
}

// GaugeFuncVec registers a family of GaugeFuncs labelled by labels.
func (r *Registry) GaugeFuncVec(name, help string, labels ...string) *FuncVec {
	return &FuncVec{r.register(kindGauge, name, help, nil, labels)}
}

// onScrape adds a hook run at the start of each scrape, before any family
// renders, under the scrape lock: a collector refreshes the snapshot its
// families read.
func (r *Registry) onScrape(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hooks = append(r.hooks, fn)
}

// register checks a family's name and labels and adds it.
func (r *Registry) register(k kind, name, help string, bounds []float64, labels []string) *family {
	f := newFamily(k, name, help, bounds, labels)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = make(map[string]*family)
	}
	rendered := f.renderedNames()
	for _, n := range rendered {
		if other := r.names[n]; other != nil {
			panic(fmt.Sprintf("metrics: %s %q collides with %q, registered before", k, name, other.name))
		}
	}
	for _, n := range rendered {
		r.names[n] = f
	}
	i, _ := slices.BinarySearchFunc(r.families, name, func(g *family, n string) int { return strings.Compare(g.name, n) })
	r.families = slices.Insert(r.families, i, f)
	return f
}

// LatencyBuckets returns the default buckets, in seconds, for request
// latency: 0.5 ms to 30 s, in steps of 2 to 2.5×. The low end resolves a
// static file served from the page cache (a few hundred µs), which the
// usual 5 ms first bucket would lump together with everything fast; the
// middle covers a Python app's 5 ms to 1 s; the top is the 30 s a
// gateway's request timeout defaults to, beyond which requests have failed
// anyway. Fifteen bounds keep a histogram_quantile's error within one step
// at a modest cost per labelled series.
func LatencyBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
}

// checkBuckets panics unless b is non-empty, ascending and finite, and
// returns a copy the caller cannot change.
func checkBuckets(name string, b []float64) []float64 {
	if len(b) == 0 {
		panic(fmt.Sprintf("metrics: histogram %q has no buckets", name))
	}
	for i, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && v <= b[i-1]) {
			panic(fmt.Sprintf("metrics: histogram %q: buckets must be finite and ascending, got %v", name, b))
		}
	}
	return slices.Clone(b)
}

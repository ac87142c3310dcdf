package metrics

import (
	"math"
	"sync/atomic"
	"time"
)

// cacheLine pads each counter and gauge to a line of its own, so that two
// that different cores update (one route's requests and another's) do not
// share one; 64 bytes is the line on amd64 and arm64.
const cacheLine = 64

// Counter is a count that only goes up: requests, bytes, restarts. Its
// methods are one atomic add: no lock, no allocation, safe from any
// goroutine. Get one from Registry.Counter or CounterVec.With and keep it.
type Counter struct {
	n atomic.Uint64
	_ [cacheLine - 8]byte
}

// Inc adds one.
func (c *Counter) Inc() { c.n.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.n.Add(n) }

// Value is the count so far.
func (c *Counter) Value() uint64 { return c.n.Load() }

func (c *Counter) write(e *encoder, f *family, ch *child) {
	e.uintSample(f.name, "", ch.labels, "", c.n.Load())
}

// Gauge is a number of things that goes up and down: connections in a
// state, requests in flight, workers busy, queue depth. Its methods are
// one atomic operation: no lock, no allocation. Figures that are not a
// count of things (a time, a ratio) are read at scrape time with
// GaugeFunc instead.
type Gauge struct {
	n atomic.Int64
	_ [cacheLine - 8]byte
}

// Set sets the gauge to n.
func (g *Gauge) Set(n int64) { g.n.Store(n) }

// Add adds n, which may be negative.
func (g *Gauge) Add(n int64) { g.n.Add(n) }

// Inc adds one.
func (g *Gauge) Inc() { g.n.Add(1) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.n.Add(-1) }

// Value is the gauge's value.
func (g *Gauge) Value() int64 { return g.n.Load() }

func (g *Gauge) write(e *encoder, f *family, ch *child) {
	e.intSample(f.name, "", ch.labels, "", g.n.Load())
}

// funcValue is a CounterFunc's or GaugeFunc's child: fn is called at
// scrape time, under the registry's scrape lock, and must not block.
type funcValue struct{ fn func() float64 }

func (v funcValue) write(e *encoder, f *family, ch *child) {
	e.floatSample(f.name, "", ch.labels, "", v.fn())
}

// Histogram counts observations (latencies, sizes) into buckets fixed at
// registration, and keeps their sum. Observe is a search of the bounds,
// one atomic add and one compare-and-swap of the sum: no lock, no
// allocation.
//
// A scrape reads the buckets and the sum one by one while observations go
// on, so the sum may be a few observations ahead of or behind the counts;
// _count is the sum of the buckets, so it always equals the +Inf bucket.
type Histogram struct {
	bounds []float64       // upper bounds, ascending, +Inf excluded; shared with the family
	counts []atomic.Uint64 // counts[i]: observations in (bounds[i-1], bounds[i]]; the last is (max, +Inf)
	sum    atomic.Uint64   // math.Float64bits of the sum
}

func newHistogram(bounds []float64) *Histogram {
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe adds one observation of v (in the histogram's unit: seconds for
// a _seconds histogram). v falls in the first bucket whose upper bound is
// at least v (buckets are "less than or equal", as Prometheus's le);
// NaN falls in +Inf and makes the sum NaN.
func (h *Histogram) Observe(v float64) {
	h.counts[bucketOf(h.bounds, v)].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// ObserveDuration observes d in seconds.
func (h *Histogram) ObserveDuration(d time.Duration) { h.Observe(d.Seconds()) }

// bucketOf is the index of the first bound ≥ v, or len(bounds) (the +Inf
// bucket): a binary search, not sort.Search, whose closure the compiler
// does not always inline.
func bucketOf(bounds []float64, v float64) int {
	lo, hi := 0, len(bounds)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bounds[m] < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(bounds) && !(v <= bounds[lo]) { // NaN compares false with everything
		return len(bounds)
	}
	return lo
}

func (h *Histogram) write(e *encoder, f *family, ch *child) {
	e.histogram(f, ch, len(h.counts), func(i int) uint64 { return h.counts[i].Load() }, func() float64 { return math.Float64frombits(h.sum.Load()) })
}

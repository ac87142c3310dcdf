package metrics

import (
	"fmt"
	"math"
	"slices"
)

// NewHistogram returns a histogram that belongs to no registry yet, with
// buckets as Registry.Histogram takes them (nil: LatencyBuckets): for a
// figure a component keeps whether or not metrics are exposed (an app's
// queue wait, which its status page shows), and that HistogramVec.Set
// exposes when they are.
func NewHistogram(buckets []float64) *Histogram {
	if buckets == nil {
		buckets = LatencyBuckets()
	}
	return newHistogram(checkBuckets("histogram", buckets))
}

// Set makes h the histogram exposed for these label values, replacing
// any there was. h must have the family's buckets.
func (v *HistogramVec) Set(h *Histogram, values ...string) {
	if !slices.Equal(h.bounds, v.f.bounds) {
		panic(fmt.Sprintf("metrics: %q has buckets %v, got a histogram with %v", v.f.name, v.f.bounds, h.bounds))
	}
	v.f.child(values, func() metric { return h }, true)
}

// HistogramSnapshot is a histogram's counts at one moment, for a reader
// in the process (a status page) rather than a scraper.
type HistogramSnapshot struct {
	Bounds []float64 // upper bounds, ascending, +Inf excluded
	Counts []uint64  // Counts[i]: observations ≤ Bounds[i], cumulative; the last, one longer than Bounds, is all of them
	Sum    float64
}

// Snapshot reads h's buckets and sum. It allocates: call it at a reader's
// pace, not per observation.
func (h *Histogram) Snapshot() HistogramSnapshot {
	s := HistogramSnapshot{Bounds: h.bounds, Counts: make([]uint64, len(h.counts))}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		s.Counts[i] = cum
	}
	s.Sum = math.Float64frombits(h.sum.Load())
	return s
}

// Count is the number of observations.
func (s HistogramSnapshot) Count() uint64 {
	if len(s.Counts) == 0 {
		return 0
	}
	return s.Counts[len(s.Counts)-1]
}

// Quantile estimates the q-quantile (0 ≤ q ≤ 1) the way PromQL's
// histogram_quantile does: it finds the bucket the rank falls in and
// interpolates linearly within it, taking 0 as the first bucket's lower
// bound; a rank in the +Inf bucket gives the highest finite bound. NaN
// without observations.
func (s HistogramSnapshot) Quantile(q float64) float64 {
	n := s.Count()
	if n == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	q = min(max(q, 0), 1)
	rank := q * float64(n)
	i, _ := slices.BinarySearchFunc(s.Counts, rank, func(c uint64, r float64) int {
		if float64(c) < r {
			return -1
		}
		return 1
	})
	if i >= len(s.Bounds) {
		return s.Bounds[len(s.Bounds)-1]
	}
	lo, below := 0.0, uint64(0)
	if i > 0 {
		lo, below = s.Bounds[i-1], s.Counts[i-1]
	}
	in := s.Counts[i] - below
	if in == 0 {
		return s.Bounds[i]
	}
	return lo + (s.Bounds[i]-lo)*(rank-float64(below))/float64(in)
}

// Sub is the observations made since earlier, a snapshot of the same
// histogram: for quantiles over the last minute rather than all time.
func (s HistogramSnapshot) Sub(earlier HistogramSnapshot) HistogramSnapshot {
	d := HistogramSnapshot{Bounds: s.Bounds, Counts: slices.Clone(s.Counts), Sum: s.Sum - earlier.Sum}
	if len(earlier.Counts) != len(s.Counts) {
		return d
	}
	for i := range d.Counts {
		d.Counts[i] -= min(earlier.Counts[i], d.Counts[i])
	}
	return d
}

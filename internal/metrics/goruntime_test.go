package metrics

import (
	"math"
	"runtime"
	rm "runtime/metrics"
	"strconv"
	"strings"
	"testing"
)

// valueOf finds the sample named series (name and labels, as rendered) in
// an exposition and parses its value; NaN if it is absent.
func valueOf(expo []byte, series string) float64 {
	for line := range strings.Lines(string(expo)) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return math.NaN()
			}
			return f
		}
	}
	return math.NaN()
}

func TestRegisterGo(t *testing.T) {
	r := NewRegistry()
	r.RegisterGo()
	before := valueOf(r.AppendText(nil, FormatText), "go_gc_cycles_total")
	runtime.GC()
	expo := r.AppendText(nil, FormatText)
	tests := []struct {
		series string
		ok     func(v float64) bool
	}{
		{"go_goroutines", func(v float64) bool { return v >= 1 }},
		{"go_threads", func(v float64) bool { return v >= 1 }},
		{"go_sched_gomaxprocs_threads", func(v float64) bool { return v == float64(runtime.GOMAXPROCS(0)) }},
		{"go_memstats_heap_alloc_bytes", func(v float64) bool { return v > 0 }},
		{"go_memstats_sys_bytes", func(v float64) bool { return v > 0 }},
		{"go_gc_cycles_total", func(v float64) bool { return v >= before+1 }},
		{"go_sched_pauses_total_gc_seconds_count", func(v float64) bool { return v >= 2 }}, // a cycle pauses twice
		{`go_sched_pauses_total_gc_seconds_bucket{le="+Inf"}`, func(v float64) bool { return v >= 2 }},
		{"go_sched_pauses_total_gc_seconds_sum", func(v float64) bool { return v > 0 }},
		{`go_info{version="` + runtime.Version() + `"}`, func(v float64) bool { return v == 1 }},
	}
	for _, tt := range tests {
		if v := valueOf(expo, tt.series); !tt.ok(v) {
			t.Errorf("%s = %v", tt.series, v)
		}
	}
}

// TestRebucketed: each runtime bucket lands under the first bound at or
// above its upper edge; the sum takes each bucket's midpoint.
func TestRebucketed(t *testing.T) {
	h := &rebucketed{counts: make([]uint64, len(pauseBuckets)+1)}
	h.load(&rm.Float64Histogram{
		Buckets: []float64{math.Inf(-1), 0, 5e-6, 1e-5, 2e-5, 3, math.Inf(1)},
		Counts:  []uint64{0, 4, 2, 1, 1, 3},
	})
	want := make([]uint64, len(pauseBuckets)+1)
	want[1] = 4 + 2 // [0, 5µs) and [5µs, 10µs) are ≤ 10µs
	want[2] = 1     // [10µs, 20µs) ≤ 25µs
	want[len(want)-1] = 1 + 3
	for i := range want {
		if h.counts[i] != want[i] {
			t.Errorf("bucket %d: %d, want %d", i, h.counts[i], want[i])
		}
	}
	sum := 4*2.5e-6 + 2*7.5e-6 + 1*1.5e-5 + 1*1.50001 + 3*3
	if math.Abs(h.sum-sum) > 1e-12 {
		t.Errorf("sum %v, want %v", h.sum, sum)
	}
}

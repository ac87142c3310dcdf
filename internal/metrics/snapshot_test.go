package metrics

import (
	"math"
	"strings"
	"testing"
)

func TestHistogramSnapshotQuantile(t *testing.T) {
	h := NewHistogram([]float64{1, 2, 4})
	if q := h.Snapshot().Quantile(0.5); !math.IsNaN(q) {
		t.Errorf("empty: got %v, want NaN", q)
	}
	for _, v := range []float64{0.5, 0.5, 1.5, 3, 3, 3, 3, 10} {
		h.Observe(v)
	}
	s := h.Snapshot()
	if s.Count() != 8 || s.Sum != 24.5 {
		t.Fatalf("count %d sum %v, want 8 and 24.5", s.Count(), s.Sum)
	}
	tests := []struct{ q, want float64 }{
		{0, 0},     // rank 0: the first bucket's lower bound
		{0.25, 1},  // rank 2: the top of (0,1], which holds 2
		{0.375, 2}, // rank 3: the top of (1,2]
		{0.5, 2.5}, // rank 4: a quarter into (2,4], which holds 4
		{0.875, 4}, // rank 7
		{0.99, 4},  // in +Inf: the highest finite bound
		{1, 4},
	}
	for _, tt := range tests {
		if got := s.Quantile(tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	h.Observe(0.1)
	d := h.Snapshot().Sub(s)
	if d.Count() != 1 || d.Quantile(1) != 1 {
		t.Errorf("since the snapshot: count %d, max %v; want 1 and 1", d.Count(), d.Quantile(1))
	}
}

func TestHistogramVecSet(t *testing.T) {
	r := NewRegistry()
	v := r.HistogramVec("nave_wait_seconds", "Waits.", []float64{1, 2}, "app")
	h := NewHistogram([]float64{1, 2})
	h.Observe(1.5)
	v.Set(h, "a")
	out := string(r.AppendText(nil, FormatText))
	if !strings.Contains(out, `nave_wait_seconds_bucket{app="a",le="2"} 1`) {
		t.Errorf("the set histogram is not exposed:\n%s", out)
	}
	defer func() {
		if recover() == nil {
			t.Error("a histogram with other buckets was accepted")
		}
	}()
	v.Set(NewHistogram(nil), "b")
}

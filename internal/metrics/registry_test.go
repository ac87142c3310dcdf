package metrics

import (
	"math"
	"strings"
	"testing"
)

// TestRegisterRefuses: each programmer's error panics, naming the problem.
func TestRegisterRefuses(t *testing.T) {
	tests := []struct {
		name     string
		register func(r *Registry)
		want     string // in the panic
	}{
		{"counter_without_total", func(r *Registry) { r.Counter("nave_requests", "h") }, "_total"},
		{"gauge_with_total", func(r *Registry) { r.Gauge("nave_open_total", "h") }, "counters only"},
		{"histogram_with_total", func(r *Registry) { r.Histogram("nave_x_total", "h", nil) }, "counters only"},
		{"histogram_suffix", func(r *Registry) { r.Histogram("nave_x_count", "h", nil) }, "_count"},
		{"bad_char", func(r *Registry) { r.Gauge("nave-x", "h") }, "invalid metric name"},
		{"colon", func(r *Registry) { r.Gauge("nave:x", "h") }, "invalid metric name"},
		{"leading_digit", func(r *Registry) { r.Gauge("1nave", "h") }, "invalid metric name"},
		{"empty_name", func(r *Registry) { r.Gauge("", "h") }, "invalid metric name"},
		{"no_namespace", func(r *Registry) { r.Gauge("requests_in_flight", "h") }, "must begin with"},
		{"namespace_only", func(r *Registry) { r.Gauge("nave_", "h") }, "must begin with"},
		{"no_help", func(r *Registry) { r.Gauge("nave_x", "") }, "help"},
		{"milliseconds", func(r *Registry) { r.Histogram("nave_latency_milliseconds", "h", nil) }, "base unit, seconds"},
		{"kilobytes", func(r *Registry) { r.Counter("nave_sent_kilobytes_total", "h") }, "base unit, bytes"},
		{"duplicate", func(r *Registry) { r.Gauge("nave_x", "h"); r.Gauge("nave_x", "h") }, "collides"},
		{"histogram_collides", func(r *Registry) { r.Gauge("nave_x_count", "h"); r.Histogram("nave_x", "h", nil) }, "collides"},
		{"counter_family_collides", func(r *Registry) { r.Gauge("nave_x", "h"); r.Counter("nave_x_total", "h") }, "collides"},
		{"label_le", func(r *Registry) { r.HistogramVec("nave_x", "h", nil, "le") }, "label name"},
		{"label_reserved", func(r *Registry) { r.GaugeVec("nave_x", "h", "__name") }, "label name"},
		{"label_repeated", func(r *Registry) { r.GaugeVec("nave_x", "h", "a", "a") }, "label name"},
		{"label_bad", func(r *Registry) { r.GaugeVec("nave_x", "h", "a-b") }, "label name"},
		{"buckets_unsorted", func(r *Registry) { r.Histogram("nave_x", "h", []float64{1, 0.5}) }, "ascending"},
		{"buckets_inf", func(r *Registry) { r.Histogram("nave_x", "h", []float64{1, math.Inf(1)}) }, "finite"},
		{"buckets_empty", func(r *Registry) { r.Histogram("nave_x", "h", []float64{}) }, "no buckets"},
		{"too_few_values", func(r *Registry) { r.CounterVec("nave_x_total", "h", "a", "b").With("1") }, "got 1 values"},
		{"value_not_utf8", func(r *Registry) { r.CounterVec("nave_x_total", "h", "a").With("\xff") }, "UTF-8"},
		{"nil_func", func(r *Registry) { r.GaugeFunc("nave_x", "h", nil) }, "nil function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				p := recover()
				if p == nil {
					t.Fatalf("no panic, want one mentioning %q", tt.want)
				}
				if s, _ := p.(string); !strings.Contains(s, tt.want) {
					t.Errorf("panic %v, want one mentioning %q", p, tt.want)
				}
			}()
			tt.register(NewRegistry())
		})
	}
}

// TestZeroRegistry: a Registry's zero value works.
func TestZeroRegistry(t *testing.T) {
	var r Registry
	r.Gauge("nave_g", "h").Set(2)
	if got, want := string(r.AppendText(nil, FormatText)), "# HELP nave_g h\n# TYPE nave_g gauge\nnave_g 2\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestUnits(t *testing.T) {
	r := NewRegistry()
	tests := []struct{ name, unit string }{
		{"nave_http_request_duration_seconds", "seconds"},
		{"nave_sent_bytes_total", "bytes"},
		{"nave_requests_total", ""},
		{"nave_seconds_since_x", ""},
	}
	for _, tt := range tests {
		var f *family
		if strings.HasSuffix(tt.name, "_total") {
			f = r.CounterVec(tt.name, "h").f
		} else {
			f = r.GaugeVec(tt.name, "h").f
		}
		if f.unit != tt.unit {
			t.Errorf("%s: unit %q, want %q", tt.name, f.unit, tt.unit)
		}
	}
}

// TestVecHandles: With returns the same handle for the same values, so a
// reload that resolves a route again keeps counting where it was; Delete
// drops the series and a later With starts from zero.
func TestVecHandles(t *testing.T) {
	r := NewRegistry()
	v := r.CounterVec("nave_x_total", "h", "route")
	a := v.With("/a")
	a.Add(5)
	if v.With("/a") != a {
		t.Fatal("With returned a new counter for the same values")
	}
	if !v.Delete("/a") || v.Delete("/a") {
		t.Fatal("Delete: want true, then false")
	}
	if got := string(r.AppendText(nil, FormatText)); got != "" {
		t.Errorf("after Delete got %q, want nothing", got)
	}
	if b := v.With("/a"); b == a || b.Value() != 0 {
		t.Errorf("With after Delete: got the old counter or a count of %d", b.Value())
	}

	fv := r.GaugeFuncVec("nave_workers", "h", "app", "state")
	fv.Set(func() float64 { return 1 }, "app", "busy")
	fv.Set(func() float64 { return 2 }, "app", "busy")
	fv.Set(func() float64 { return 3 }, "app", "idle")
	want := "# HELP nave_workers h\n# TYPE nave_workers gauge\n" +
		"nave_workers{app=\"app\",state=\"busy\"} 2\nnave_workers{app=\"app\",state=\"idle\"} 3\n" +
		"# HELP nave_x_total h\n# TYPE nave_x_total counter\nnave_x_total{route=\"/a\"} 0\n"
	if got := string(r.AppendText(nil, FormatText)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

package servermetrics

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"nave/internal/metrics"
	"nave/internal/web"
)

func TestRequestStart(t *testing.T) {
	at := time.Date(2026, 12, 7, 3, 30, 0, 123456000, time.UTC)
	tests := []struct {
		name, field, value string
		want               time.Time // zero: not ok
	}{
		{"newrelic_micros", "X-Request-Start", "t=1796614200123456", at},
		{"haproxy_micros_plain", "X-Request-Start", "1796614200123456", at},
		{"millis", "X-Request-Start", "t=1796614200123", at.Truncate(time.Millisecond)},
		{"seconds_fraction", "X-Request-Start", "t=1796614200.123456", at},
		{"seconds", "X-Queue-Start", "1796614200", at.Truncate(time.Second)},
		{"nanos", "X-Request-Start", "t=1796614200123456000", at},
		{"queue_start", "X-Queue-Start", "t=1796614200123456", at},
		{"empty", "X-Request-Start", "", time.Time{}},
		{"t_only", "X-Request-Start", "t=", time.Time{}},
		{"letters", "X-Request-Start", "t=abc", time.Time{}},
		{"negative", "X-Request-Start", "t=-5", time.Time{}},
		{"two_dots", "X-Request-Start", "1.2.3", time.Time{}},
		{"zero", "X-Request-Start", "0", time.Time{}},
		{"too_long", "X-Request-Start", strings.Repeat("9", 31), time.Time{}},
		{"overflow", "X-Request-Start", strings.Repeat("9", 30), time.Time{}},
		{"none", "X-Other", "1796614200", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h web.Header
			h.Add(tt.field, tt.value)
			got, ok := RequestStart(&h)
			if ok != !tt.want.IsZero() || ok && got.Sub(tt.want).Abs() > time.Microsecond {
				t.Errorf("RequestStart(%s: %q) = %v, %v; want %v", tt.field, tt.value, got, ok, tt.want)
			}
		})
	}
	var h web.Header
	h.Add("X-Queue-Start", "t=1")
	h.Add("X-Request-Start", "t=1796614200123456")
	if got, _ := RequestStart(&h); got.Sub(at).Abs() > time.Microsecond {
		t.Errorf("with both fields: %v, want X-Request-Start's %v", got, at)
	}
}

// TestLBQueue: the wait is counted only from a trusted peer, from the
// stamp to the arrival; a stamp a little ahead counts as none, one past
// an hour off not at all.
func TestLBQueue(t *testing.T) {
	reg := metrics.NewRegistry()
	s := New(reg)
	arrival := time.Unix(1796614200, 0)
	stamp := func(d time.Duration) *web.Header {
		var h web.Header
		h.Add("X-Request-Start", "t="+strconv.FormatInt(arrival.Add(-d).UnixMicro(), 10))
		return &h
	}
	for _, x := range []Exchange{
		{Header: stamp(3 * time.Second), TrustedPeer: true},        // 3 s
		{Header: stamp(20 * time.Millisecond), TrustedPeer: true},  // 20 ms
		{Header: stamp(-50 * time.Millisecond), TrustedPeer: true}, // ahead: 0
		{Header: stamp(2 * time.Hour), TrustedPeer: true},          // not believed
		{Header: stamp(3 * time.Second), TrustedPeer: false},       // untrusted
		{Header: new(web.Header), TrustedPeer: true},               // no stamp
	} {
		x.Method, x.Status, x.Start = []byte("GET"), 200, arrival
		s.Requests.Done(&x)
	}
	text := string(reg.AppendText(nil, metrics.FormatText))
	for _, want := range []string{
		`nave_lb_queue_seconds_count 3`,
		`nave_lb_queue_seconds_bucket{le="0.0005"} 1`,
		`nave_lb_queue_seconds_bucket{le="0.025"} 2`,
		`nave_lb_queue_seconds_bucket{le="2.5"} 2`,
		`nave_lb_queue_seconds_bucket{le="5"} 3`,
		`nave_lb_queue_seconds_sum 3.02`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
}

// A stamped request from a trusted peer adds a header lookup and an
// observation: still no allocation.
func TestLBQueueAllocatesNothing(t *testing.T) {
	s := New(metrics.NewRegistry())
	var h web.Header
	h.Add("Host", "example.com")
	h.Add("X-Request-Start", "t=1796614200123456")
	method, now := []byte("GET"), time.Now()
	if n := testing.AllocsPerRun(100, func() {
		s.Requests.Done(&Exchange{Method: method, Status: 200, Start: now, Header: &h, TrustedPeer: true})
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

package status

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"nave/internal/metrics"
	"nave/internal/servermetrics"
)

// fixture is a real server metric set and an app whose figures the test
// sets, read by a Sampler.
type fixture struct {
	set  *servermetrics.Set
	wait *metrics.Histogram
	busy int
	s    *Sampler
}

func newFixture(keep int) *fixture {
	reg := metrics.NewRegistry()
	f := &fixture{set: servermetrics.New(reg), wait: reg.Histogram("nave_test_wait_seconds", "Test.", nil)}
	f.s = NewSampler(Config{Keep: keep, Read: func(r *Reading) {
		f.set.Snapshot(&r.Server)
		r.Apps = []AppReading{{Name: "app", Busy: f.busy, Idle: 4 - f.busy, QueueWait: f.wait.Snapshot()}}
	}})
	return f
}

func (f *fixture) requests(n, status int, d time.Duration) {
	for range n {
		f.set.Requests.Done(&servermetrics.Exchange{Method: []byte("GET"), Status: status, Duration: d})
	}
}

// TestHistory: each interval's rates by status class and its latency
// percentiles come from the difference of two readings; the app's gauges
// are as read.
func TestHistory(t *testing.T) {
	f := newFixture(0)
	t0 := time.Now().Add(-time.Minute)
	f.s.Sample(t0)
	f.requests(10, 200, time.Millisecond)
	f.busy = 3
	f.wait.Observe(0.2)
	f.s.Sample(t0.Add(2 * time.Second))
	f.requests(4, 503, 80*time.Millisecond)
	f.s.Sample(t0.Add(4 * time.Second))

	h := f.s.History()
	if len(h.Time) != 2 || h.Time[1] != t0.Add(4*time.Second).UnixMilli() {
		t.Fatalf("times %v, want 2 points, the last at %d", h.Time, t0.Add(4*time.Second).UnixMilli())
	}
	want := map[string][]Num{"2xx": {5, 0}, "5xx": {0, 2}, "4xx": {0, 0}}
	for class, w := range want {
		if got := h.Status[class]; got[0] != w[0] || got[1] != w[1] {
			t.Errorf("%s per second %v, want %v", class, got, w)
		}
	}
	if got := h.RequestsPerSecond; got[0] != 5 || got[1] != 2 {
		t.Errorf("requests per second %v, want [5 2]", got)
	}
	if p := float64(h.Latency.P50[0]); !(p > 0.0005 && p <= 0.001) {
		t.Errorf("the first interval's median %v, want within the 1 ms bucket", p)
	}
	if p := float64(h.Latency.P50[1]); !(p > 0.05 && p <= 0.1) {
		t.Errorf("the second interval's median %v, want within the 100 ms bucket", p)
	}
	a := h.Apps["app"]
	if a == nil || a.Busy[0] != 3 || a.Idle[0] != 1 || a.Busy[1] != 3 {
		t.Fatalf("app history %+v, want 3 busy and 1 idle", a)
	}
	if p := float64(a.QueueWait.P99[0]); !(p > 0.1 && p <= 0.25) || !math.IsNaN(float64(a.QueueWait.P99[1])) {
		t.Errorf("queue wait p99 %v, %v; want within the 250 ms bucket, then null (no waits)", a.QueueWait.P99[0], a.QueueWait.P99[1])
	}
	data, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"p99":[0.2485,null]`) {
		t.Errorf("the JSON does not show the queue wait's p99 then null:\n%s", data)
	}
}

// TestNow: totals are read afresh; rates and percentiles are since the
// newest reading at least the window old.
func TestNow(t *testing.T) {
	f := newFixture(0)
	tr, apps := f.s.Now()
	if tr.Requests != 0 || !math.IsNaN(float64(tr.RequestsPerSecond)) || tr.Latency.Count != 0 {
		t.Errorf("with no reading: %+v, want no rate", tr)
	}
	if a := apps["app"]; a.Busy != 0 || a.Idle != 4 || a.QueueWait == nil {
		t.Errorf("app now %+v, want 0 busy, 4 idle, and the queue wait measured", a)
	}
	f.requests(5, 200, time.Millisecond)
	f.s.Sample(time.Now().Add(-time.Minute))
	f.requests(3, 404, time.Millisecond)
	tr, _ = f.s.Now()
	if tr.Requests != 8 || tr.Status["4xx"].Total != 3 || tr.Latency.Count != 3 || float64(tr.WindowSeconds) < 59 {
		t.Errorf("now %+v, want 8 requests, 3 of them 4xx, 3 in a window of a minute", tr)
	}
	if r := float64(tr.RequestsPerSecond); r <= 0 || r > 3.0/59 {
		t.Errorf("rate %v, want 3 over a minute", r)
	}
}

// TestSamplerKeep: memory is bounded: the oldest readings go.
func TestSamplerKeep(t *testing.T) {
	f := newFixture(3)
	t0 := time.Now()
	for i := range 7 {
		f.s.Sample(t0.Add(time.Duration(i) * time.Second))
	}
	h := f.s.History()
	if len(h.Time) != 2 || h.Time[0] != t0.Add(5*time.Second).UnixMilli() {
		t.Errorf("times %v, want the last 3 readings' 2 intervals, ending at 5 s and 6 s", h.Time)
	}
}

// TestSamplerRun: Run samples at once and stops when told.
func TestSamplerRun(t *testing.T) {
	f := newFixture(0)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { f.s.Run(stop); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(f.s.readings()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	<-done
	if len(f.s.readings()) == 0 {
		t.Error("Run took no reading")
	}
}

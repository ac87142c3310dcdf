package servermetrics

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"nave/internal/metrics"
)

// Off is a nil *Set: every method does nothing.
func TestNilSetIsOff(t *testing.T) {
	var s *Set
	s.Move(ConnNone, ConnIdle)
	s.Accepted()
	s.Refused()
	s.Handshake(true, tls.VersionTLS13)
	s.H2Stream()
	s.H2Reset(1)
	s.H2GoAway(99)
	var m *Requests
	m.Done(&Exchange{Method: []byte("GET"), Status: 200})
}

func TestDone(t *testing.T) {
	reg := metrics.NewRegistry()
	s := New(reg)
	start := time.Unix(1000, 0)
	for _, x := range []Exchange{
		{Method: []byte("GET"), Status: 200, Start: start, Head: start.Add(time.Millisecond), Duration: 2 * time.Millisecond, BodyOut: 14},
		{Method: []byte("get"), Status: 404, Start: start, Duration: time.Millisecond}, // methods are case-sensitive
		{Method: []byte("PATCH"), Status: 503, Start: start, BodyIn: 7},
		{Method: []byte("OPTIONS"), Status: 999, Start: start}, // out of range: 5xx
		{Method: []byte("HEAD"), Status: 101, Start: start},
	} {
		s.Requests.Done(&x)
	}
	s.Move(ConnNone, ConnReading)
	s.Move(ConnReading, ConnHandling)
	s.Move(ConnNone, ConnParked)
	s.Move(ConnParked, ConnNone)
	s.Handshake(true, tls.VersionTLS12)
	s.Handshake(true, 0x0305) // a version from the future
	s.Handshake(false, 0)
	s.H2Reset(0x8)
	s.H2GoAway(0x1234)
	text := string(reg.AppendText(nil, metrics.FormatText))
	for _, want := range []string{
		`nave_http_requests_total{method="GET",code="2xx"} 1`,
		`nave_http_requests_total{method="other",code="4xx"} 1`,
		`nave_http_requests_total{method="PATCH",code="5xx"} 1`,
		`nave_http_requests_total{method="OPTIONS",code="5xx"} 1`,
		`nave_http_requests_total{method="HEAD",code="1xx"} 1`,
		`nave_http_request_duration_seconds_count 5`,
		`nave_http_request_duration_seconds_bucket{le="0.0025"} 5`,
		`nave_http_time_to_first_byte_seconds_count 1`,
		`nave_http_time_to_first_byte_seconds_bucket{le="0.001"} 1`,
		`nave_http_request_body_bytes_total 7`,
		`nave_http_response_body_bytes_total 14`,
		`nave_connections{state="handling"} 1`,
		`nave_connections{state="reading"} 0`,
		`nave_connections{state="parked"} 0`,
		`nave_tls_handshakes_total{result="ok",version="1.2"} 1`,
		`nave_tls_handshakes_total{result="ok",version="unknown"} 1`,
		`nave_tls_handshakes_total{result="failed",version="unknown"} 1`,
		`nave_http2_resets_sent_total{code="CANCEL"} 1`,
		`nave_http2_goaways_sent_total{code="UNKNOWN_ERROR"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, "\n"+want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
}

// Done updates atomics only: no allocation.
func TestDoneAllocatesNothing(t *testing.T) {
	s := New(metrics.NewRegistry())
	method := []byte("POST")
	now := time.Now()
	if n := testing.AllocsPerRun(100, func() {
		s.Requests.Done(&Exchange{Method: method, Status: 201, Start: now, Head: now, Duration: time.Since(now), BodyIn: 3, BodyOut: 5})
		s.Move(ConnIdle, ConnReading)
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

// BenchmarkRequest is what metrics add to one keep-alive HTTP/1.1
// request: two state moves (idle to handling and back), the monotonic
// clock read at the response's end, and Done (a counter, two histograms, a byte count).
// Against the ~10 µs of CPU a 14 B static response costs
// (docs/performance.md), this is the cost of turning metrics on.
func BenchmarkRequest(b *testing.B) {
	s := New(metrics.NewRegistry())
	method := []byte("GET")
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		s.Move(ConnHandling, ConnIdle)
		s.Move(ConnIdle, ConnHandling)
		s.Requests.Done(&Exchange{Method: method, Status: 200, Start: start, Head: start, Duration: time.Since(start), BodyOut: 14})
	}
}

// BenchmarkClock compares the clock reads a request could end on:
// time.Now reads the wall and the monotonic clock, time.Since (what the
// servers use) the monotonic one alone.
func BenchmarkClock(b *testing.B) {
	start := time.Now()
	b.Run("Now", func(b *testing.B) {
		for b.Loop() {
			_ = time.Now()
		}
	})
	b.Run("Since", func(b *testing.B) {
		for b.Loop() {
			_ = time.Since(start)
		}
	})
}

// Snapshot agrees with what the exposition shows: requests summed over
// methods by class, the histograms, the connections by state.
func TestSnapshot(t *testing.T) {
	s := New(metrics.NewRegistry())
	start := time.Unix(1000, 0)
	for _, x := range []Exchange{
		{Method: []byte("GET"), Status: 200, Start: start, Head: start.Add(time.Millisecond), Duration: 2 * time.Millisecond, BodyOut: 14},
		{Method: []byte("POST"), Status: 201, Start: start, Duration: 3 * time.Second, BodyIn: 5},
		{Method: []byte("GET"), Status: 502, Start: start},
	} {
		s.Requests.Done(&x)
	}
	s.Move(ConnNone, ConnReading)
	s.Move(ConnNone, ConnIdle)
	s.Move(ConnNone, ConnHandling)
	s.Accepted()
	s.Refused()
	var got Snapshot
	s.Snapshot(&got)
	if want := [numClasses]uint64{0, 2, 0, 0, 1}; got.Requests != want {
		t.Errorf("requests by class %v, want %v", got.Requests, want)
	}
	if got.Duration.Count() != 3 || got.TTFB.Count() != 1 {
		t.Errorf("duration has %d observations, TTFB %d; want 3 and 1", got.Duration.Count(), got.TTFB.Count())
	}
	if got.BodyIn != 5 || got.BodyOut != 14 || got.Accepted != 1 || got.Refused != 1 {
		t.Errorf("bytes in %d out %d, accepted %d refused %d; want 5, 14, 1, 1", got.BodyIn, got.BodyOut, got.Accepted, got.Refused)
	}
	if want := [numStates]int64{1, 1, 1, 0}; got.Conns != want {
		t.Errorf("connections by state %v, want %v (reading, handling, idle, parked)", got.Conns, want)
	}
	var off *Set
	off.Snapshot(&got)
	if got.Requests != ([numClasses]uint64{}) {
		t.Error("a nil set's snapshot is not zero")
	}
}

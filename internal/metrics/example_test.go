package metrics_test

import (
	"bytes"
	"os"
	"strconv"
	"time"

	"nave/internal/metrics"
)

// routeMetrics is what a gateway keeps for each route it serves: handles
// resolved once, when the route is configured. Per request it indexes an
// array and adds; it never looks a label up.
type routeMetrics struct {
	requests [5]*metrics.Counter // by status class: [0] is 1xx … [4] is 5xx
	duration *metrics.Histogram
}

// families are registered once, at start-up.
type families struct {
	requests *metrics.CounterVec
	duration *metrics.HistogramVec
}

func register(r *metrics.Registry) families {
	return families{
		requests: r.CounterVec("nave_http_requests_total", "Responses sent, by route and status class.", "route", "code"),
		duration: r.HistogramVec("nave_http_request_duration_seconds", "From a request's arrival to its response's end.", nil, "route"),
	}
}

// forRoute runs at configuration time (and again on a reload, which gets
// the same series back for a route it keeps).
func (f families) forRoute(route string) *routeMetrics {
	m := &routeMetrics{duration: f.duration.With(route)}
	for i := range m.requests {
		m.requests[i] = f.requests.With(route, strconv.Itoa(i+1)+"xx")
	}
	return m
}

// done runs per request: two atomic adds and a CAS, no allocation.
func (m *routeMetrics) done(status int, start time.Time) {
	if c := status/100 - 1; c >= 0 && c < len(m.requests) {
		m.requests[c].Inc()
	}
	m.duration.ObserveDuration(time.Since(start))
}

func Example() {
	r := metrics.NewRegistry()
	api := register(r).forRoute("/api")
	for _, status := range []int{200, 200, 404, 503} {
		api.done(status, time.Now())
	}
	for line := range bytes.Lines(r.AppendText(nil, metrics.FormatText)) {
		if bytes.HasPrefix(line, []byte("nave_http_requests_total")) {
			os.Stdout.Write(line)
		}
	}
	// Output:
	// nave_http_requests_total{route="/api",code="1xx"} 0
	// nave_http_requests_total{route="/api",code="2xx"} 2
	// nave_http_requests_total{route="/api",code="3xx"} 0
	// nave_http_requests_total{route="/api",code="4xx"} 1
	// nave_http_requests_total{route="/api",code="5xx"} 1
}

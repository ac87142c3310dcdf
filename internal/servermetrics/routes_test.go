package servermetrics

import (
	"strings"
	"testing"
	"time"

	"nave/internal/metrics"
	"nave/internal/web"
	"nave/internal/web/webtest"
)

// TestRoutes: a route's requests are counted by status class, with their
// duration from the request's start, under the route's labels; a meter
// made again for the same labels (a reload) goes on counting.
func TestRoutes(t *testing.T) {
	reg := metrics.NewRegistry()
	rs := NewRoutes(reg)
	statuses := []int{200, 200, 404, 0, 503}
	h := rs.Route("main", "api").Wrap(web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		if s := statuses[0]; s != 0 {
			w.WriteHeader(s)
		}
		statuses = statuses[1:]
	}))
	for range 4 {
		serve(t, h)
	}
	serve(t, rs.Route("main", "api").Wrap(web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) { w.WriteHeader(503) })))
	text := string(reg.AppendText(nil, metrics.FormatText))
	for _, want := range []string{
		`nave_route_requests_total{site="main",route="api",code="2xx"} 3`,
		`nave_route_requests_total{site="main",route="api",code="4xx"} 1`,
		`nave_route_requests_total{site="main",route="api",code="5xx"} 1`,
		`nave_route_request_duration_seconds_count{site="main",route="api"} 5`,
		`nave_route_request_duration_seconds_bucket{site="main",route="api",le="0.005"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
}

// TestRoutesRetain: a route the config no longer has leaves the
// exposition, a kept one goes on counting, and a route brought back
// starts from zero.
func TestRoutesRetain(t *testing.T) {
	reg := metrics.NewRegistry()
	rs := NewRoutes(reg)
	ok := web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {})
	serve(t, rs.Route("main", "api").Wrap(ok))
	serve(t, rs.Route("main", "old").Wrap(ok))
	rs.Retain(map[[2]string]bool{{"main", "api"}: true})
	serve(t, rs.Route("main", "api").Wrap(ok))
	text := string(reg.AppendText(nil, metrics.FormatText))
	if !strings.Contains(text, `nave_route_requests_total{site="main",route="api",code="2xx"} 2`) {
		t.Errorf("the kept route's count did not go on:\n%s", text)
	}
	if strings.Contains(text, `route="old"`) {
		t.Errorf("the removed route is still exposed:\n%s", text)
	}
	serve(t, rs.Route("main", "old").Wrap(ok))
	text = string(reg.AppendText(nil, metrics.FormatText))
	if !strings.Contains(text, `nave_route_requests_total{site="main",route="old",code="2xx"} 1`) {
		t.Errorf("a route brought back did not start from zero:\n%s", text)
	}
}

// serve runs h for a request that began 10 ms ago.
func serve(t *testing.T, h web.Handler) {
	t.Helper()
	var rec webtest.Recorder
	r := &web.Request{Method: []byte("GET"), Path: []byte("/"), Start: time.Now().Add(-10 * time.Millisecond)}
	h.Serve(rec.Begin(r), r)
	rec.End()
}

func TestRouteAllocatesNothing(t *testing.T) {
	h := NewRoutes(metrics.NewRegistry()).Route("s", "0").Wrap(web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {}))
	var rec webtest.Recorder
	r := &web.Request{Start: time.Now()}
	if n := testing.AllocsPerRun(100, func() { h.Serve(rec.Begin(r), r); rec.End() }); n != 0 {
		t.Fatalf("%v allocations a request", n)
	}
}

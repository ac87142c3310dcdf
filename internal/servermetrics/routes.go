package servermetrics

import (
	"sync"
	"time"

	"nave/internal/metrics"
	"nave/internal/web"
)

// Routes is the per-route part of the metrics: requests by site, route
// and status class, and their duration, counted by a handler around each
// route's action (Route.Wrap). Its label values come from the config (a
// site's name, a route's name or its index in the site), never from a
// request, so there are only as many series as the config has routes:
// Retain drops those of routes a new config no longer has.
type Routes struct {
	count    *metrics.CounterVec
	duration *metrics.HistogramVec

	mu     sync.Mutex
	handed map[[2]string]bool // the (site, route) labels of the meters handed out
}

// NewRoutes registers the per-route families in reg. Call it once per
// registry.
func NewRoutes(reg *metrics.Registry) *Routes {
	return &Routes{
		handed:   map[[2]string]bool{},
		count:    reg.CounterVec("nave_route_requests_total", "Requests a route answered, by site, route (its name, or its index in the site's list) and status class (1xx to 5xx).", "site", "route", "code"),
		duration: reg.HistogramVec("nave_route_request_duration_seconds", "From a request's first byte to the end of its route's handler (a WebSocket's: its whole life), by site and route.", nil, "site", "route"),
	}
}

// Route is one route's meter: the same handles for a route of the same
// labels in every config generation, so counts go on across reloads.
type Route struct {
	count    [numClasses]*metrics.Counter
	duration *metrics.Histogram
}

// Route returns the meter of the route with these labels.
func (rs *Routes) Route(site, route string) *Route {
	rs.mu.Lock()
	rs.handed[[2]string{site, route}] = true
	rs.mu.Unlock()
	m := &Route{duration: rs.duration.With(site, route)}
	for c := range m.count {
		m.count[c] = rs.count.With(site, route, classNames[c])
	}
	return m
}

// Retain stops exposing every route whose (site, route) labels are not in
// keep, the config in force: a removed route's counts would never move
// again, and configs that rename routes would pile series up for good. A
// route of those labels in a later config starts again from zero, which
// Prometheus takes as a counter reset. A request still running on a
// retired route is counted nowhere.
func (rs *Routes) Retain(keep map[[2]string]bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for k := range rs.handed {
		if keep[k] {
			continue
		}
		delete(rs.handed, k)
		rs.duration.Delete(k[0], k[1])
		for c := range numClasses {
			rs.count.Delete(k[0], k[1], classNames[c])
		}
	}
}

// Wrap returns next counted as this route's.
func (m *Route) Wrap(next web.Handler) web.Handler { return counted{m, next} }

type counted struct {
	m    *Route
	next web.Handler
}

// Serve runs the route's handler, then counts the request by the status
// it answered (none set: the 200 the exchange's end sends; a WebSocket:
// its 101) and how long it took from its first byte.
func (h counted) Serve(w *web.ResponseWriter, r *web.Request) {
	h.next.Serve(w, r)
	status := w.Status()
	if status == 0 {
		status = 200
	}
	c := status/100 - 1
	if c < 0 || c >= numClasses {
		c = numClasses - 1
	}
	h.m.count[c].Inc()
	h.m.duration.ObserveDuration(time.Since(r.Start))
}

package cli

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"nave/internal/admin"
	"nave/internal/config"
	"nave/internal/proxy"
	"nave/internal/server"
	"nave/internal/status"
	"nave/internal/web"
	"nave/internal/workers"
)

// wantsStatus reports whether c serves the status page: on the admin
// API's sockets (nave run) or on admin.status. The page charts the
// server's metrics, so they are counted whenever it is served.
func (b *built) wantsStatus(c *config.Config) bool {
	return c.Admin.Status != "" || b.adminSocket(c) != "" || b.admin != nil && c.Admin.Listen != ""
}

// statusKey prefixes the endpoint that serves the status page without the
// admin API; one that shares admin.metrics's address is the metrics
// endpoint, keyed metricsKey+statusKey+ADDR.
const statusKey = "status "

// isStatus reports whether an endpoint key is one that serves the status
// page without the admin API.
func isStatus(key string) bool {
	return strings.HasPrefix(strings.TrimPrefix(key, metricsKey), statusKey)
}

// isStatusPath reports whether path is the status page's or its JSON's.
func isStatusPath(path string) bool { return path == "/" || path == "/status" }

// statusEndpoint starts the sampler when c serves the status page, and
// opens admin.status when c names it and admin.metrics does not name the
// same address (then the metrics endpoint serves the page): a listener of
// its own that serves the page at / and its JSON at /status, read only.
// Neither is counted nor access-logged.
func (g *gen) statusEndpoint() error {
	b, c := g.b, g.c
	if b.wantsStatus(c) {
		b.metricsFor(c)
		b.startSampler()
	}
	addr := c.Admin.Status
	if addr == "" || addr == c.Admin.Metrics {
		return nil
	}
	_, _, err := g.endpoints.Use(statusKey+addr, addr, func() (*endpoint, error) {
		ln, err := b.listenFor(c, "admin.status", statusSocketName, addr)
		if err != nil {
			return nil, err
		}
		return &endpoint{ln: ln, srv: server.New(server.Config{Handler: statusHandler{b}, Logger: b.log, DisableH2C: true})}, nil
	})
	return err
}

// statusHandler serves the status page at / and its JSON at /status, and
// 404 elsewhere.
type statusHandler struct{ b *built }

func (s statusHandler) Serve(w *web.ResponseWriter, r *web.Request) {
	if !isStatusPath(string(r.Path)) {
		web.Error(w, 404, "not found: the status page is at /, its JSON at /status")
		return
	}
	s.b.serveStatus(w, r)
}

// startSampler starts the status page's sampler, once: it runs until
// nave ends. b.mu is held.
func (b *built) startSampler() {
	if b.sampler != nil {
		return
	}
	b.sampler = status.NewSampler(status.Config{Read: b.readFigures})
	go b.sampler.Run(b.closing)
}

// readFigures is the sampler's reading: the server's counts and each
// running app's Meter, which sums the pools that serve it (the old and the
// new during a reload).
func (b *built) readFigures(r *status.Reading) {
	b.metrics.Snapshot(&r.Server) // set before the sampler starts, never unset
	b.mu.Lock()
	meters := maps.Clone(b.expo.meters)
	b.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(meters)) {
		s := meters[name].Snapshot()
		r.Apps = append(r.Apps, status.AppReading{Name: name, Busy: s.Busy, Idle: s.Idle, Queued: s.Queued, QueueWait: s.QueueWait})
	}
}

// statusReport is what GET /status reports (docs/observability.md lists
// every field): each listener's address, open connections and requests
// taken (by its current server: a change to the listener's own settings
// starts a new count), each app with its workers, the upstreams, and,
// where the status page is served, the traffic now and its history.
type statusReport struct {
	Config      statusConfig              `json:"config"`
	Connections int                       `json:"connections"`
	Requests    uint64                    `json:"requests"`
	Listeners   map[string]listenerStatus `json:"listeners"`
	Apps        map[string]appStatus      `json:"apps"`
	Upstreams   map[string]upstreamStatus `json:"upstreams"`

	Version string    `json:"version"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Uptime  float64   `json:"uptime_seconds"`
	Time    time.Time `json:"time"`
	// Traffic and History are null where metrics are not counted (nave
	// run without an admin API or admin.status).
	Traffic *status.Traffic `json:"traffic"`
	History *status.History `json:"history"`
}

type statusConfig struct {
	File    string `json:"file"`
	Applied int    `json:"applied"` // configs applied since nave started, the first included
	ETag    string `json:"etag"`
}

type listenerStatus struct {
	Address     string `json:"address"`
	Connections int    `json:"connections"`
	Requests    uint64 `json:"requests"`
}

type appStatus struct {
	Module    string `json:"module"`
	Interface string `json:"interface"`
	Workers   int    `json:"workers"`
	Python    string `json:"python"`
	Inside    int64  `json:"requests_in_flight"`
	status.AppNow
	Restarts  map[string]uint64 `json:"restarts"` // worker restarts by reason: crash, timeout, recycle, reload
	Processes []workerStatus    `json:"processes"`
}

type workerStatus struct {
	PID      int       `json:"pid"`
	ID       int       `json:"id"` // the worker's number in nave's log lines
	State    string    `json:"state"`
	InFlight int       `json:"requests_in_flight"`
	Served   int       `json:"requests_served"`
	RSS      int64     `json:"rss_bytes"`
	Started  time.Time `json:"started"`
	Age      float64   `json:"age_seconds"`
}

type upstreamStatus struct {
	Servers []serverStatus `json:"servers"`
}

type serverStatus struct {
	Address  string `json:"address"`
	Up       bool   `json:"up"`
	InFlight int64  `json:"in_flight"`
	// TTFB is the time from a request sent to the response head, over
	// every answered try since nave started.
	TTFB     status.Percentiles `json:"ttfb_seconds"`
	Failures map[string]uint64  `json:"failures"` // by kind: connect, timeout, reset, bad_response
}

func (b *built) status() statusReport {
	now := time.Now()
	st := statusReport{
		Listeners: map[string]listenerStatus{}, Apps: map[string]appStatus{}, Upstreams: map[string]upstreamStatus{},
		Version: Version, PID: os.Getpid(), Started: b.started, Uptime: now.Sub(b.started).Seconds(), Time: now,
	}
	var appsNow map[string]status.AppNow
	b.mu.Lock()
	sampler := b.sampler
	b.mu.Unlock()
	if sampler != nil {
		// Before b.mu is taken: the sampler's reading takes it.
		st.Traffic, appsNow = sampler.Now()
		st.History = sampler.History()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st.Config = statusConfig{Applied: b.applied, ETag: admin.ETag(b.cfg)}
	if b.admin != nil {
		st.Config.File = b.admin.file
	}
	ls := b.listeners.All()
	for _, name := range slices.Sorted(maps.Keys(ls)) {
		l := ls[name]
		ln := listenerStatus{Address: l.ln.Addr().String(), Connections: l.srv.Conns(), Requests: l.h.Requests()}
		st.Listeners[name] = ln
		st.Connections += ln.Connections
		st.Requests += ln.Requests
	}
	for name, a := range b.apps.All() {
		st.Apps[name] = b.appStatus(name, a, appsNow[name], now)
	}
	for name, p := range b.proxies.All() {
		var u upstreamStatus
		for _, s := range p.Stats() {
			ss := serverStatus{Address: s.Addr, Up: s.Up, InFlight: s.InFlight, TTFB: status.Summarize(s.TTFB), Failures: map[string]uint64{}}
			for k, n := range s.Failures {
				ss.Failures[proxy.FailKind(k).String()] = n
			}
			u.Servers = append(u.Servers, ss)
		}
		st.Upstreams[name] = u
	}
	return st
}

// appStatus is an app's part of the status: its config, its workers
// now, and the sampler's figures when there is a sampler. b.mu is held.
func (b *built) appStatus(name string, a *app, now status.AppNow, t time.Time) appStatus {
	cfg := b.cfg.Apps[name]
	as := appStatus{Module: cfg.Module, Interface: cmpOr(cfg.Interface, "wsgi"), Workers: a.pool.Workers(),
		Python: a.pool.Python(), Inside: a.guard.Inside(), AppNow: now, Processes: []workerStatus{}}
	ps := a.pool.Stats()
	as.Busy, as.Idle, as.Queued = ps.Busy, ps.Idle, ps.Queued
	if m := b.expo.meters[name]; m != nil {
		ms := m.Snapshot() // the app's pools together: the old ones too, during a reload
		as.Busy, as.Idle, as.Queued = ms.Busy, ms.Idle, ms.Queued
	}
	for _, w := range ps.Workers {
		as.Processes = append(as.Processes, workerStatus{PID: w.Pid, ID: w.ID, State: w.State, InFlight: w.Jobs,
			Served: w.Served, RSS: w.RSS, Started: w.Started, Age: t.Sub(w.Started).Seconds()})
	}
	as.Restarts = map[string]uint64{}
	for c, n := range ps.Restarts {
		if cause := workers.Cause(c); cause != workers.CauseStop && cause.String() != "unknown" {
			as.Restarts[cause.String()] = n
		}
	}
	return as
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// serveStatus serves the status page at / and its JSON at /status, to
// GET and HEAD.
func (b *built) serveStatus(w *web.ResponseWriter, r *web.Request) {
	if m := string(r.Method); m != "GET" && m != "HEAD" {
		w.Header().Set("Allow", "GET, HEAD")
		web.Error(w, 405, m+" is not allowed here")
		return
	}
	if string(r.Path) == "/" {
		status.ServePage(w, r)
		return
	}
	data, err := json.MarshalIndent(b.status(), "", "  ")
	if err != nil {
		web.Error(w, 500, "cannot render the status")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(200)
	w.Write(append(data, '\n'))
}

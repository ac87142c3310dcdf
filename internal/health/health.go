// Package health answers the probes of load balancers and orchestrators:
// /livez, whether the process is alive and serving (restart it if not),
// and /readyz, whether it should be sent traffic: only once what the
// caller checks is up (listeners, certificates, app workers), and never
// again once a drain has begun (a shutdown, an upgrade's hand-over), so
// that a load balancer stops sending before connections close.
//
// The answers follow Kubernetes' apiserver: 200 with "ok", or 503 with
// the failed checks; "?verbose" lists every check, one a line, as
// "[+]name ok" or "[-]name failed: why", then a verdict line.
//
// It imports internal/web and the standard library only.
package health

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"

	"nave/internal/web"
)

// Check is one readiness condition: Err says why it fails, nil when it
// passes. It is called on every probe, concurrently, and must be quick.
type Check struct {
	Name string
	Err  func() error
}

// Health is a process's liveness and readiness. Its zero value is alive,
// not ready (Start was not called), with no checks.
type Health struct {
	checks  []Check // set by New, read-only after
	started atomic.Bool
	mu      sync.Mutex
	drain   string // why the drain began; "" while not draining. Guarded by mu.
}

// New is a Health with the readiness checks given, in the order probes
// list them.
func New(checks ...Check) *Health {
	return &Health{checks: checks}
}

// Start says that the process has started serving: readiness is up to the
// checks from now on.
func (h *Health) Start() { h.started.Store(true) }

// Drain says that a drain has begun, for reason ("shutting down",
// "upgrade hand-over"): readiness fails from now on, for good. The first
// reason stays.
func (h *Health) Drain(reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.drain == "" {
		h.drain = reason
	}
}

// Draining is the drain's reason, "" while there is none.
func (h *Health) Draining() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.drain
}

// result is one check's outcome on a probe.
type result struct {
	name string
	err  string // "" passed
}

// Ready reports whether the process should be sent traffic.
func (h *Health) Ready() bool {
	for _, r := range h.readiness() {
		if r.err != "" {
			return false
		}
	}
	return true
}

// readiness runs every check: started and draining first, then the
// caller's.
func (h *Health) readiness() []result {
	rs := make([]result, 0, len(h.checks)+2)
	started := result{name: "started"}
	if !h.started.Load() {
		started.err = "not serving yet"
	}
	draining := result{name: "draining"}
	if why := h.Draining(); why != "" {
		draining.err = why
	}
	rs = append(rs, started, draining)
	for _, c := range h.checks {
		r := result{name: c.Name}
		if err := c.Err(); err != nil {
			r.err = err.Error()
		}
		rs = append(rs, r)
	}
	return rs
}

// Paths probes are served at.
const (
	LivePath  = "/livez"
	ReadyPath = "/readyz"
)

// Handle answers a probe at /livez or /readyz and reports true; for any
// other path it writes nothing and reports false, so that the caller
// serves the request. GET and HEAD only; "?verbose" lists the checks.
func (h *Health) Handle(w *web.ResponseWriter, r *web.Request) bool {
	var rs []result
	var what string
	switch string(r.Path) {
	case LivePath:
		rs, what = []result{{name: "ping"}}, "livez"
	case ReadyPath:
		rs, what = h.readiness(), "readyz"
	default:
		return false
	}
	if m := string(r.Method); m != "GET" && m != "HEAD" {
		w.Header().Set("Allow", "GET, HEAD")
		web.Error(w, 405, "use GET or HEAD")
		return true
	}
	status := 200
	for _, res := range rs {
		if res.err != "" {
			status = 503
		}
	}
	body := render(rs, what, status == 200, verbose(r.Query))
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
	return true
}

// render is a probe's body: "ok" when all passed and not verbose; else
// each check (only the failed ones when not verbose) and the verdict.
func render(rs []result, what string, ok, verbose bool) []byte {
	if ok && !verbose {
		return []byte("ok\n")
	}
	var b []byte
	for _, r := range rs {
		switch {
		case r.err == "" && verbose:
			b = append(b, "[+]"+r.name+" ok\n"...)
		case r.err != "":
			b = append(b, "[-]"+r.name+" failed: "+r.err+"\n"...)
		}
	}
	if ok {
		return append(b, what+" check passed\n"...)
	}
	return append(b, what+" check failed\n"...)
}

// verbose reports whether a query asks for every check: "verbose", as
// "?verbose", "?verbose=1" or "?verbose=true" (Kubernetes takes any).
func verbose(q []byte) bool {
	for len(q) > 0 {
		var p []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			p, q = q[:i], q[i+1:]
		} else {
			p, q = q, nil
		}
		if i := bytes.IndexByte(p, '='); i >= 0 {
			p = p[:i]
		}
		if string(p) == "verbose" {
			return true
		}
	}
	return false
}

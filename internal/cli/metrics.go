package cli

import (
	"net"
	"strings"
	"sync/atomic"
	"time"

	"nave/internal/config"
	"nave/internal/metrics"
	"nave/internal/proxy"
	"nave/internal/server"
	"nave/internal/servermetrics"
	"nave/internal/web"
	"nave/internal/workers"
)

// exposition is what nave exposes at /metrics, made with built and kept
// for nave's lifetime, so that counts go on across reloads. Its families
// are registered at once; the server's per-request set only the first
// time a config wants metrics served, since it is the one part that
// costs the requests something.
type exposition struct {
	reg     *metrics.Registry
	handler *metrics.Handler
	apps    *workers.Exposition
	proxies *proxy.Exposition
	meters  map[string]*workers.Meter // by app name; guarded by built.mu

	reloads     [2]*metrics.Counter // [0] success, [1] failure
	lastSuccess atomic.Int64        // Unix nanoseconds of the last config applied
}

func newExposition() *exposition {
	reg := metrics.NewRegistry()
	x := &exposition{reg: reg, handler: metrics.NewHandler(reg), apps: workers.NewExposition(reg), proxies: proxy.NewExposition(reg), meters: map[string]*workers.Meter{}}
	reloads := reg.CounterVec("nave_config_reloads_total", "Config reloads (SIGHUP, nave reload, the admin API's changes), by result: success (applied) or failure (invalid, or could not be applied; the running config serves on). The config nave starts with is not counted.", "result")
	x.reloads = [2]*metrics.Counter{reloads.With("success"), reloads.With("failure")}
	reg.GaugeFunc("nave_config_last_reload_success_timestamp_seconds", "When the config in force was applied (at start, or by the last successful reload), in seconds since the Unix epoch.", func() float64 {
		return float64(x.lastSuccess.Load()) / 1e9
	})
	return x
}

// applied records a config applied, or refused with err; reload is false
// for the config nave starts with.
func (x *exposition) applied(reload bool, err error) {
	if err == nil {
		x.lastSuccess.Store(time.Now().UnixNano())
	}
	if !reload {
		return
	}
	if err == nil {
		x.reloads[0].Inc()
	} else {
		x.reloads[1].Inc()
	}
}

// meter is the named app's Meter, made and exposed the first time the app
// starts and kept while configs run it, so that its counts go on when a
// reload replaces its pool. b.mu is held.
func (b *built) meter(app string) *workers.Meter {
	m := b.expo.meters[app]
	if m == nil {
		m = workers.NewMeter()
		b.expo.meters[app] = m
		b.expo.apps.Add(app, m)
	}
	return m
}

// dropMeters stops exposing the apps that the config in force does not
// run (their retiring pools still count, unseen), after a commit, or an
// abort that started an app it then let go of. b.mu is held.
func (b *built) dropMeters() {
	running := b.apps.All()
	for name := range b.expo.meters {
		if _, ok := running[name]; !ok {
			b.expo.apps.Remove(name)
			delete(b.expo.meters, name)
		}
	}
}

// dropRoutes stops exposing the routes that the config in force does not
// meter, after a commit or an abort (whose routes were metered, then let
// go of). b.mu is held.
func (b *built) dropRoutes() {
	if b.routeMetrics != nil {
		b.routeMetrics.Retain(b.metered)
	}
}

// exposeUpstreams exposes the upstreams' handlers in force, and drops
// the ones a config no longer has. b.mu is held.
func (b *built) exposeUpstreams() {
	running := b.proxies.All()
	for _, name := range b.expo.proxies.Upstreams() {
		if _, ok := running[name]; !ok {
			b.expo.proxies.Remove(name)
		}
	}
	for name, h := range running {
		b.expo.proxies.Add(name, h)
	}
}

// metricsFor is the metric set the listeners' servers of a generation of
// c update: nil when c has no metrics served. They are served on
// admin.metrics (nave run) or --metrics (the shorthands), and on nave
// run's admin socket and admin.listen, as Caddy serves them on its admin
// endpoint. The set is made once, the first time a config wants it.
// b.mu is held.
func (b *built) metricsFor(c *config.Config) *servermetrics.Set {
	if c.Admin.Metrics == "" && c.Admin.Status == "" && (b.admin == nil || b.adminSocket(c) == "" && c.Admin.Listen == "") {
		return nil
	}
	if b.metrics == nil {
		b.metrics = servermetrics.New(b.expo.reg)
		b.routeMetrics = servermetrics.NewRoutes(b.expo.reg)
	}
	return b.metrics
}

// metricsKey prefixes the endpoint that serves /metrics among the admin
// endpoints, which are keyed "unix PATH" and "tcp ADDR".
const metricsKey = "metrics "

// metricsEndpoint opens admin.metrics, when the config names it: a
// listener of its own whose server serves the exposition at /metrics.
// Scrapes are neither counted nor access-logged.
func (g *gen) metricsEndpoint() error {
	b, c := g.b, g.c
	addr := c.Admin.Metrics
	if addr == "" {
		return nil
	}
	b.metricsFor(c)
	withStatus := c.Admin.Status == addr // the status page shares the listener
	key := metricsKey + addr
	if withStatus {
		key = metricsKey + statusKey + addr
	}
	_, _, err := g.endpoints.Use(key, addr, func() (*endpoint, error) {
		ln, err := b.listenFor(c, "admin.metrics", metricsSocketName, addr)
		if err != nil {
			return nil, err
		}
		h := metricsHandler{h: b.expo.handler}
		if withStatus {
			h.status = b
		}
		return &endpoint{ln: ln, srv: server.New(server.Config{Handler: probes{b.health, h}, Logger: b.log, DisableH2C: true})}, nil
	})
	return err
}

// isMetrics reports whether an endpoint key is the metrics endpoint's.
func isMetrics(key string) bool { return strings.HasPrefix(key, metricsKey) }

// metricsHandler serves the exposition at /metrics, the status page
// when status is set, and 404 elsewhere (probes answer /livez and /readyz
// before it).
type metricsHandler struct {
	h      *metrics.Handler
	status *built // nil: no status page here
}

func (m metricsHandler) Serve(w *web.ResponseWriter, r *web.Request) {
	switch path := string(r.Path); {
	case path == "/metrics":
		m.h.Serve(w, r)
	case m.status != nil && isStatusPath(path):
		m.status.serveStatus(w, r)
	case m.status != nil:
		web.Error(w, 404, "not found: the status page is at /, its JSON at /status, metrics at /metrics")
	default:
		web.Error(w, 404, "not found: metrics are at /metrics, probes at /livez and /readyz")
	}
}

// listenFor is a socket for addr, which the config field names, passed
// under name (socket activation, an upgrade) or opened: its failure is a
// problem at that field. b.mu is held.
func (b *built) listenFor(c *config.Config, field, name, addr string) (net.Listener, error) {
	ln, err := b.bind(name, addr)
	if err != nil {
		return nil, config.List{c.At(field, "%v", err)}
	}
	return ln, nil
}

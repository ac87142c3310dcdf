package cli

import (
	"errors"
	"strings"

	"nave/internal/config"
	"nave/internal/metrics"
	"nave/internal/server"
	"nave/internal/servermetrics"
	"nave/internal/web"
)

// metricsFor is the metric set the listeners' servers of a generation of
// c update: nil when c asks for no metrics (admin.metrics, --metrics).
// The set and its registry are made once, the first time a config wants
// them, and kept for nave's lifetime, so that counts go on across
// reloads. b.mu is held.
func (b *built) metricsFor(c *config.Config) *servermetrics.Set {
	if c.Admin.Metrics == "" {
		return nil
	}
	if b.metrics == nil {
		reg := metrics.NewRegistry()
		b.metrics, b.metricsHandler = servermetrics.New(reg), metrics.NewHandler(reg)
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
	_, _, err := g.endpoints.Use(metricsKey+addr, addr, func() (*endpoint, error) {
		ln, err := listen(addr)
		if err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				err = ue.err
			}
			return nil, config.List{c.At("admin.metrics", "%v", err)}
		}
		h := metricsHandler{b.metricsHandler}
		return &endpoint{ln: ln, srv: server.New(server.Config{Handler: h, Logger: b.log, DisableH2C: true})}, nil
	})
	return err
}

// isMetrics reports whether an endpoint key is the metrics endpoint's.
func isMetrics(key string) bool { return strings.HasPrefix(key, metricsKey) }

// metricsHandler serves the exposition at /metrics and 404 elsewhere.
type metricsHandler struct{ h *metrics.Handler }

func (m metricsHandler) Serve(w *web.ResponseWriter, r *web.Request) {
	if string(r.Path) != "/metrics" {
		web.Error(w, 404, "not found: metrics are at /metrics")
		return
	}
	m.h.Serve(w, r)
}

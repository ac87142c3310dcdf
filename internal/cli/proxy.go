package cli

import (
	"log/slog"
	"net/netip"

	"nave/internal/config"
	"nave/internal/proxy"
	"nave/internal/web"
)

// proxy is the handler of an upstream, made once however many routes
// name it, so that they share its connection pools and health; the
// running one when the upstream is unchanged, so that a reload keeps them.
func (g *gen) proxy(name string) (web.Handler, error) {
	spec := proxyConfig(g.c, name, nil)
	h, _, err := g.proxies.Use(name, spec, func() (*proxy.Handler, error) {
		h, err := proxy.New(proxyConfig(g.c, name, g.b.log.With("upstream", name)))
		if err != nil {
			return nil, config.List{g.c.At("upstreams."+name, "%v", err)}
		}
		return h, nil
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// closeProxies closes retired upstreams' handlers: their health checks
// stop and their idle connections close.
func closeProxies(ps []*proxy.Handler) {
	for _, p := range ps {
		p.Close()
	}
}

// proxyConfig expresses an upstream as proxy.Config. Whom it trusts is
// each listener's to say, per request (trusting): a site served on
// several listeners is built once.
func proxyConfig(c *config.Config, name string, log *slog.Logger) proxy.Config {
	u := c.Upstreams[name]
	pc := proxy.Config{
		Balance: balanceOf(u.Balance), HashKey: u.HashKey, Host: u.Host, StripPrefix: u.StripPrefix,
		ProxyProtocol: u.ProxyProtocol, H2C: u.H2C,
		ConnectTimeout: u.ConnectTimeout.D(), HeaderTimeout: u.HeaderTimeout.D(), ReadTimeout: u.ReadTimeout.D(),
		WriteTimeout: u.WriteTimeout.D(), TunnelIdle: u.TunnelIdle.D(), IdleTimeout: u.IdleTimeout.D(),
		MaxIdle: count(u.KeepAlive), Retries: count(u.Retries), MaxFails: count(u.MaxFails),
		RetryTimeout: u.RetryTimeout.D(), FailTimeout: u.FailTimeout.D(), SlowStart: u.SlowStart.D(),
		Logger: log,
	}
	for _, addr := range u.Servers {
		pc.Servers = append(pc.Servers, proxy.Server{Addr: addr, Weight: u.Weights[addr]})
	}
	if h := u.Health; h != nil {
		pc.Health = proxy.Health{Path: h.Path, Interval: h.Interval.D(), Timeout: h.Timeout.D(), Status: h.Status, Rise: h.Rise, Fall: h.Fall}
	}
	return pc
}

// count is a config count whose absence means the proxy's default and
// whose 0 means none.
func count(n *int) int {
	switch {
	case n == nil:
		return 0
	case *n == 0:
		return proxy.Off
	}
	return *n
}

func balanceOf(b string) proxy.Balance {
	switch b {
	case "least_conn":
		return proxy.LeastConn
	case "random2":
		return proxy.Random2
	case "hash":
		return proxy.Hash
	}
	return proxy.RoundRobin
}

// prefixes are a listener's trusted_proxies (validated: CIDRs or addresses).
func prefixes(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, tp := range list {
		if p, ok := config.ParseProxy(tp); ok {
			out = append(out, p)
		}
	}
	return out
}

// trusting marks the requests whose client is one of its listener's
// trusted proxies (web.Request.TrustProxies), so that a proxy route
// believes the forwarding fields of those and no others, and apps see the
// client the proxies name: a site served on a public listener and on one
// behind a load balancer trusts each as its own listener says.
type trusting struct {
	trusted []netip.Prefix
	next    web.Handler
}

func (t trusting) Serve(w *web.ResponseWriter, r *web.Request) {
	r.TrustProxies(t.trusted)
	t.next.Serve(w, r)
}

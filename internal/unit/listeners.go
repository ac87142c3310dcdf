package unit

import (
	"net"
	"strings"

	"nave/internal/config"
)

// listener is a Unit listener on its way to a nave one.
type listener struct {
	path, addr, pass string
	l                *config.Listener
}

// listeners converts the listeners, then makes one site for each place
// they pass to, served on the listeners that pass there.
func (c *conv) listeners(p string, ls map[string]any) {
	var all []*listener
	for _, a := range sortedKeys(ls) {
		lp := key(p, a)
		if x := c.listener(lp, a, obj(ls[a])); x != nil {
			all = append(all, x)
		}
	}
	all = c.fold(all)
	var order []string
	groups := map[string][]*listener{}
	for _, x := range all {
		n := "http_"
		if x.l.TLS != nil {
			n = "https_"
		}
		_, port, _ := net.SplitHostPort(x.l.Address)
		if _, ok := config.SocketPath(x.l.Address); ok {
			port = "unix" // http_unix, https_unix, and _2 on for more
		}
		ln := name(n+port, func(s string) bool { _, ok := c.out.Listeners[s]; return ok })
		c.out.Listeners[ln] = x.l
		x.addr = ln
		if _, ok := groups[x.pass]; !ok {
			order = append(order, x.pass)
		}
		groups[x.pass] = append(groups[x.pass], x)
	}
	for _, pass := range order {
		c.site(pass, groups[pass])
	}
}

// listener converts one listener, nil when nave cannot listen there.
func (c *conv) listener(p, addr string, u map[string]any) *listener {
	x := &listener{path: p, l: &config.Listener{}}
	if strings.HasPrefix(addr, "unix:") {
		x.l.Address = addr // a Unix socket, as nave writes it too
	} else {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			c.lose(p, "nave listens on HOST:PORT or unix:PATH only; the listener is left out")
			return nil
		}
		if host == "*" {
			host = "0.0.0.0"
		}
		x.l.Address = net.JoinHostPort(host, port)
	}
	for _, k := range sortedKeys(u) {
		kp := key(p, k)
		switch k {
		case "pass":
			x.pass, _ = u[k].(string)
		case "application": // before Unit 1.8
			n, _ := u[k].(string)
			x.pass = "applications/" + n
		case "tls":
			c.tls(kp, x.l, obj(u[k]))
		case "forwarded":
			c.forwarded(kp, x.l, obj(u[k]))
		default:
			c.lose(kp, "nave has nothing like it")
		}
	}
	if x.pass == "" {
		c.lose(p, "passes nowhere; the listener is left out")
		return nil
	}
	return x
}

// fold merges "[::]:P" and "0.0.0.0:P" of the same pass: nave's [::]
// listener takes IPv4 connections too, and two listeners cannot share
// the port.
func (c *conv) fold(all []*listener) []*listener {
	v6 := map[string]*listener{}
	for _, x := range all {
		if host, port, _ := net.SplitHostPort(x.l.Address); host == "::" {
			v6[port] = x
		}
	}
	var out []*listener
	for _, x := range all {
		host, port, _ := net.SplitHostPort(x.l.Address)
		if other := v6[port]; host == "0.0.0.0" && other != nil {
			if other.pass == x.pass && (other.l.TLS == nil) == (x.l.TLS == nil) {
				continue
			}
			c.lose(x.path, "nave's [::]:%s takes IPv4 connections too, so it cannot share the port with this listener: give one of them a specific address", port)
		}
		out = append(out, x)
	}
	return out
}

// tls: Unit keeps certificates in its store, by bundle name; nave reads
// files. A bundle (chain and key in one PEM file) serves as both.
func (c *conv) tls(p string, l *config.Listener, t map[string]any) {
	l.TLS = &config.TLS{}
	names, _ := strs(t["certificate"])
	var files []string
	for _, n := range names {
		f := n + ".pem"
		files = append(files, f)
		l.TLS.Certificates = append(l.TLS.Certificates, config.CertFiles{Cert: f, Key: f})
	}
	if len(names) > 0 {
		c.lose(key(p, "certificate"), "Unit keeps %s in its certificate store: put each bundle's PEM (chain and key, as uploaded to Unit) in %s beside the nave config",
			strings.Join(names, ", "), strings.Join(files, ", "))
	}
	for _, k := range sortedKeys(t) {
		if k != "certificate" {
			c.lose(key(p, k), "nave has nothing like it")
		}
	}
}

// forwarded: nave believes X-Forwarded-For and Forwarded from the
// listener's trusted proxies, and gives apps the client and scheme of
// X-Forwarded-For and X-Forwarded-Proto, as Unit's forwarded does.
func (c *conv) forwarded(p string, l *config.Listener, f map[string]any) {
	src, _ := strs(f["source"])
	for _, s := range src {
		if strings.HasPrefix(s, "!") || strings.Contains(s, "-") {
			c.lose(key(p, "source"), "nave trusts addresses and CIDR prefixes, not %q", s)
			continue
		}
		l.TrustedProxies = append(l.TrustedProxies, s)
	}
	for _, k := range sortedKeys(f) {
		v, _ := f[k].(string)
		switch {
		case k == "source":
		case k == "client_ip" && strings.EqualFold(v, "X-Forwarded-For"):
		case k == "protocol" && strings.EqualFold(v, "X-Forwarded-Proto"):
		case k == "recursive":
			if f[k] == false {
				c.lose(key(p, k), "nave always reads X-Forwarded-For past every trusted proxy, as recursive: true")
			}
		default:
			c.lose(key(p, k), "nave reads X-Forwarded-For, X-Forwarded-Proto and Forwarded from trusted proxies, nothing else")
		}
	}
}

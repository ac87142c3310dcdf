package cli

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"nave/internal/action"
	"nave/internal/config"
	"nave/internal/http1"
	"nave/internal/http2"
	"nave/internal/route"
	"nave/internal/server"
	"nave/internal/static"
	"nave/internal/web"
)

// demoRoot is the Root a shorthand config gives the built-in demo site.
const demoRoot = "\x00demo"

// appEnv is an app's environment entries as KEY=VALUE, in key order; a
// virtualenv's app also gets VIRTUAL_ENV and its bin first on PATH, as
// activating it would.
func appEnv(a *config.App) []string {
	var env []string
	if a.Virtualenv != "" {
		env = append(env, "VIRTUAL_ENV="+a.Virtualenv, "PATH="+filepath.Join(a.Virtualenv, "bin")+string(filepath.ListSeparator)+os.Getenv("PATH"))
	}
	for _, k := range slices.Sorted(maps.Keys(a.Environment)) {
		env = append(env, k+"="+a.Environment[k])
	}
	return env
}

// tlsFlagsOf expresses a listener's TLS as the flags that set the same
// up, so that nave run and nave serve share one HTTPS setup.
func tlsFlagsOf(c *config.Config, name string) *tlsFlags {
	cl := c.Listeners[name]
	t := cl.TLS
	f := &tlsFlags{
		domains:          t.Names,
		selfSigned:       t.SelfSigned,
		ticketKeyFile:    t.TicketKeys,
		handshakeTimeout: t.HandshakeTimeout.D(),
		hsts:             t.HSTS.D(),
		http2:            slices.Contains(cl.Protocols, "h2"),
	}
	for _, cf := range t.Certificates {
		f.certFiles = append(f.certFiles, cf.Cert)
		f.keyFiles = append(f.keyFiles, cf.Key)
	}
	if a := t.ACME; a != nil {
		f.acmeEmail, f.acmeCA, f.acmeCARoot = a.Email, a.CA, a.CARoot
		f.acmeChallenges = strings.Join(a.Challenges, ",")
	}
	for other, ol := range c.Listeners {
		if ol.RedirectHTTPS == name {
			f.redirectHTTP = c.Listeners[other].Address // http-01 can be answered there
		}
	}
	return f
}

// handler is a listener's handler: its sites by host name, or the
// redirect to https.
func (g *gen) handler(l *listener) (web.Handler, error) {
	c := g.c
	cl := c.Listeners[l.name]
	if cl.RedirectHTTPS != "" {
		if t, ok := g.listeners.Get(cl.RedirectHTTPS); ok {
			return &redirectHandler{port: httpsPort(t.ln), acme: t.tls.acme}, nil
		}
	}
	var vhosts []route.VHost
	for _, name := range slices.Sorted(maps.Keys(c.Sites)) {
		st := c.Sites[name]
		if !slices.Contains(c.SiteListeners(st), l.name) {
			continue
		}
		site, ok := g.sites[name]
		if !ok {
			var err error
			if site, err = g.routes(name); err != nil {
				return nil, err
			}
			g.sites[name] = site
		}
		vhosts = append(vhosts, route.VHost{Hosts: st.Hosts, Handler: site})
	}
	var h web.Handler
	if len(vhosts) == 1 && (len(vhosts[0].Hosts) == 0 || slices.Equal(vhosts[0].Hosts, []string{"*"})) {
		h = vhosts[0].Handler // one site for every host: nothing to choose
	} else {
		hosts, err := route.NewHosts(vhosts)
		if err != nil {
			return nil, config.List{c.At("sites", "%v", err)}
		}
		h = hosts
	}
	if l.tls == nil {
		return h, nil
	}
	return tlsFlagsOf(c, l.name).wrap(h), nil
}

// routes compiles a site's routes, each with its handler. A site of one
// route that takes every request is that route's handler, so that nave
// serve's requests go straight to the files, as they always did.
func (g *gen) routes(name string) (web.Handler, error) {
	c := g.c
	st := c.Sites[name]
	var rules []route.Rule
	for i, r := range st.Routes {
		path := fmt.Sprintf("sites.%s.routes[%d]", name, i)
		h, err := g.handlerFor(path, r)
		if err != nil {
			return nil, err
		}
		if set, remove := headerRules(&st.HeaderOps, &r.HeaderOps); set != nil || remove != nil {
			h = action.NewHeaders(h, set, remove)
		}
		// A site of one route for every request (the shorthands'),
		// counted by the server's metrics already, is not counted again.
		if g.b.metricsFor(c) != nil && (len(st.Routes) > 1 || !reflect.ValueOf(r.Match).IsZero()) {
			label := r.Name
			if label == "" {
				label = strconv.Itoa(i)
			}
			h = g.b.routeMetrics.Route(name, label).Wrap(h)
			if g.metered == nil {
				g.metered = map[[2]string]bool{}
			}
			g.metered[[2]string{name, label}] = true
		}
		rules = append(rules, route.Rule{Match: matchOf(&r.Match), Handler: h})
	}
	if len(rules) == 1 && reflect.ValueOf(rules[0].Match).IsZero() {
		return rules[0].Handler, nil
	}
	list, err := route.NewList(rules)
	if err != nil {
		return nil, config.List{c.At("sites."+name+".routes", "%v", err)}
	}
	return list, nil
}

// handlerFor makes the handler of a route's action. Handlers that hold
// something (a folder's caches, an app's workers) come from the running
// generation when their config is unchanged; the small ones are made anew.
func (g *gen) handlerFor(path string, r *config.Route) (web.Handler, error) {
	switch {
	case r.Root != "":
		return g.static(path, r)
	case r.App != "":
		return g.appHandlers[r.App], nil
	case r.Proxy != "":
		return g.proxy(r.Proxy)
	case r.Redirect != "":
		loc, _ := action.ParseTemplate(r.Redirect) // validated
		return action.NewRedirect(r.Status, loc), nil
	case r.Respond != nil:
		body, _ := action.ParseTemplate(*r.Respond) // validated
		return &action.Respond{Status: r.Status, ContentType: r.ContentType, Body: body}, nil
	}
	return nil, config.List{g.c.At(path, "no action this nave can run")}
}

// static is the handler of a folder route: the running one when a route
// with the same options had one, so that its caches stay warm.
func (g *gen) static(path string, r *config.Route) (web.Handler, error) {
	sc := g.b.staticConfig(r)
	sc.Logger = nil // the spec: the logger is the same for all
	key := fmt.Sprintf("%+v", sc)
	h, _, err := g.statics.Use(key, sc, func() (*static.Handler, error) {
		sc.Logger = g.b.log
		h, err := static.New(sc)
		if err != nil {
			return nil, config.List{g.c.At(path+".root", "%v", err)}
		}
		return h, nil
	})
	return h, err
}

func (b *built) staticConfig(r *config.Route) static.Config {
	sc := static.Config{
		Dir: r.Root, Index: r.Index, Browse: r.Browse, ShowHidden: r.ShowHidden,
		FollowSymlinks: r.FollowSymlinks, CacheControl: r.CacheControl, Gzip: r.Gzip,
		CacheBytes: int64(r.FileCache), CacheValid: r.FileCacheValid.D(), Logger: b.log,
	}
	if r.Root == demoRoot {
		sc.Dir, sc.FS = "", b.demo
	}
	for code, page := range r.ErrorPages {
		n, _ := strconv.Atoi(code) // validated
		if sc.ErrorPages == nil {
			sc.ErrorPages = map[int]string{}
		}
		sc.ErrorPages[n] = page
	}
	return sc
}

// headerRules merges a site's and a route's header rules: the route's
// set wins for a name both set; removals add up.
func headerRules(site, r *config.HeaderOps) ([]action.Field, []string) {
	merged := map[string]string{}
	for k, v := range site.SetHeaders {
		merged[k] = v
	}
	for k, v := range r.SetHeaders {
		merged[k] = v
	}
	var set []action.Field
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		set = append(set, action.Field{Name: k, Value: merged[k]})
	}
	remove := append(slices.Clone(site.RemoveHeaders), r.RemoveHeaders...)
	return set, remove
}

func matchOf(m *config.Match) route.Match {
	rm := route.Match{Prefix: m.Path, Glob: m.Glob, Methods: m.Methods, Hosts: m.Hosts}
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		rm.Headers = append(rm.Headers, route.Pattern{Name: k, Value: m.Headers[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(m.Query)) {
		rm.Query = append(rm.Query, route.Pattern{Name: k, Value: m.Query[k]})
	}
	return rm
}

// serverConfig is a listener's server.Config without its handler and
// logs: the server-wide limits and timeouts, the listener's protocols.
// Two listeners whose serverConfig is the same can share a server.
func serverConfig(c *config.Config, cl *config.Listener) server.Config {
	t, hc := c.Timeouts, c.HTTP2
	sc := server.Config{
		Limits: http1.Limits{
			MaxRequestLine: int(c.Limits.MaxRequestLine),
			MaxHeaderBytes: int(c.Limits.MaxHeaderBytes),
			MaxHeaderCount: c.Limits.MaxHeaders,
			MaxBodyBytes:   int64(c.Limits.MaxBody),
		},
		HeadTimeout: t.Head.D(), BodyTimeout: t.Body.D(), WriteTimeout: t.Write.D(), IdleTimeout: t.Idle.D(),
		HTTP2: http2.Config{
			MaxConcurrentStreams: uint32(hc.MaxStreams),
			MaxHeaderListSize:    uint32(hc.MaxHeaderList),
			MaxFrameSize:         uint32(hc.MaxFrame),
			StreamWindow:         uint32(hc.StreamWindow),
			ConnWindow:           uint32(hc.ConnWindow),
			FloodRate:            uint32(hc.FloodRate),
			SettingsTimeout:      hc.SettingsTimeout.D(),
		},
		DisableH2C:     !slices.Contains(cl.Protocols, "h2c"),
		ProxyProtocol:  cl.ProxyProtocol,
		TrustedProxies: prefixes(cl.TrustedProxies),
	}
	if cl.TLS != nil {
		sc.HandshakeTimeout = cl.TLS.HandshakeTimeout.D()
	}
	return sc
}

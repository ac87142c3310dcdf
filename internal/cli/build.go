package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"nave/internal/accesslog"
	"nave/internal/action"
	"nave/internal/config"
	"nave/internal/http1"
	"nave/internal/http2"
	"nave/internal/route"
	"nave/internal/server"
	"nave/internal/static"
	"nave/internal/web"
	"nave/internal/wsgi"
)

// built is what a config turns into: the open listeners with their
// servers, the app pools, and what must be closed at the end.
type built struct {
	log       *slog.Logger
	alog      *accesslog.Logger
	listeners []*listener
	pools     map[string]*wsgi.Pool // by app name
	statics   []*static.Handler
	sites     map[string]web.Handler // by site name, shared by its listeners
	drain     time.Duration
	// demo, when set, is served for a route whose Root is demoRoot: the
	// built-in site of nave serve without DIR.
	demo fs.FS
}

// listener is one config listener, open.
type listener struct {
	name string
	ln   net.Listener
	tls  *tlsSetup // nil in the clear
	srv  *server.Server
}

// demoRoot is the Root a shorthand config gives the built-in demo site.
const demoRoot = "\x00demo"

// unsupported lists what the model holds but nave run cannot do yet, all
// at once, so that a config that validates is not half-applied.
func unsupported(c *config.Config) config.List {
	var l config.List
	for _, name := range slices.Sorted(maps.Keys(c.Listeners)) {
		ln := c.Listeners[name]
		if ln.ProxyProtocol {
			l = append(l, c.At("listeners."+name+".proxy_protocol", "not supported yet: the PROXY protocol comes with the reverse proxy (issue 14)"))
		}
		if len(ln.TrustedProxies) > 0 {
			l = append(l, c.At("listeners."+name+".trusted_proxies", "not supported yet: forwarded client addresses come with the reverse proxy (issue 14)"))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Apps)) {
		a := c.Apps[name]
		if a.Interface == "asgi" {
			l = append(l, c.At("apps."+name+".interface", "interface asgi is not supported yet: the ASGI gateway is being built (issue 14); use wsgi"))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Sites)) {
		for i, r := range c.Sites[name].Routes {
			if r.Proxy != "" {
				l = append(l, c.At(fmt.Sprintf("sites.%s.routes[%d].proxy", name, i), "not supported yet: the reverse proxy is to come (issue 14)"))
			}
		}
	}
	return l
}

// build opens what c names: the logs, the app pools (not started), the
// handlers, the certificates and the listeners, each listener with its
// server. On an error nothing is left open. Problems that belong to a
// field come back as a config.List.
func build(ctx context.Context, c *config.Config, demo fs.FS, stdout, stderr io.Writer) (*built, error) {
	if l := unsupported(c); len(l) > 0 {
		return nil, l
	}
	logger, err := newLogger(c.Log.Level, stderr)
	if err != nil {
		return nil, err
	}
	s := &built{log: logger, pools: map[string]*wsgi.Pool{}, sites: map[string]web.Handler{}, drain: c.Timeouts.Drain.D(), demo: demo}
	if err := s.open(ctx, c, stdout); err != nil {
		s.drain = 0 // nothing was started: stop at once
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *built) open(ctx context.Context, c *config.Config, stdout io.Writer) error {
	format, err := accesslog.ParseFormat(c.Log.Format)
	if err != nil {
		return config.List{c.At("log.format", "%v", err)}
	}
	if s.alog, err = accesslog.Open(c.Log.Access, format, s.log); err != nil {
		return config.List{c.At("log.access", "%v", err)}
	}
	apps, err := s.apps(c)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Listeners)) {
		l, err := s.listen(ctx, c, name, stdout)
		if err != nil {
			return err
		}
		s.listeners = append(s.listeners, l)
	}
	for _, l := range s.listeners {
		h, err := s.handler(c, l, apps)
		if err != nil {
			return err
		}
		l.srv = server.New(serverConfig(c, c.Listeners[l.name], h, s.log, s.alog))
	}
	return nil
}

// apps makes a pool and a handler for each app a route names.
func (s *built) apps(c *config.Config) (map[string]web.Handler, error) {
	handlers := map[string]web.Handler{}
	for _, name := range slices.Sorted(maps.Keys(c.Apps)) {
		if !usedApp(c, name) {
			s.log.Warn("no route runs this app; it is not started", "app", name)
			continue
		}
		a := c.Apps[name]
		python := a.Python
		if a.Virtualenv != "" {
			python = filepath.Join(a.Virtualenv, "bin", "python")
		}
		python, err := choosePython(python)
		if err != nil {
			return nil, config.List{c.At("apps."+name+".python", "no Python interpreter: %v", err)}
		}
		timeout := a.Timeout.D()
		if a.Timeout == config.Off {
			timeout = -1
		}
		pool := wsgi.New(wsgi.Config{App: a.Module, Python: python, Dir: a.Chdir, Workers: a.Workers,
			StartTimeout: a.StartTimeout.D(), Timeout: timeout, MaxRequests: a.MaxRequests, Backlog: a.Backlog,
			Env: appEnv(a), Logger: s.log.With("app", name)})
		s.pools[name] = pool
		handlers[name] = wsgi.NewHandler(pool, wsgi.HandlerConfig{Logger: s.log.With("app", name)})
	}
	return handlers, nil
}

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

func usedApp(c *config.Config, name string) bool {
	for _, st := range c.Sites {
		for _, r := range st.Routes {
			if r.App == name {
				return true
			}
		}
	}
	return false
}

// listen opens a listener and its certificates.
func (s *built) listen(ctx context.Context, c *config.Config, name string, stdout io.Writer) (*listener, error) {
	cl := c.Listeners[name]
	l := &listener{name: name}
	if cl.TLS != nil {
		tf := tlsFlagsOf(c, name)
		ts, err := tf.setup(ctx, s.log, stdout)
		if err != nil {
			return nil, config.List{c.At("listeners."+name+".tls", "%v", err)}
		}
		l.tls = ts
	}
	ln, err := listen(cl.Address)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			err = ue.err
		}
		return nil, config.List{c.At("listeners."+name+".address", "%v", err)}
	}
	l.ln = ln
	return l, nil
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
func (s *built) handler(c *config.Config, l *listener, apps map[string]web.Handler) (web.Handler, error) {
	cl := c.Listeners[l.name]
	if cl.RedirectHTTPS != "" {
		for _, t := range s.listeners {
			if t.name == cl.RedirectHTTPS {
				return &redirectHandler{port: httpsPort(t.ln), acme: t.tls.acme}, nil
			}
		}
	}
	var vhosts []route.VHost
	for _, name := range slices.Sorted(maps.Keys(c.Sites)) {
		st := c.Sites[name]
		if !slices.Contains(c.SiteListeners(st), l.name) {
			continue
		}
		site, ok := s.sites[name]
		if !ok {
			var err error
			if site, err = s.routes(c, name, apps); err != nil {
				return nil, err
			}
			s.sites[name] = site
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
func (s *built) routes(c *config.Config, name string, apps map[string]web.Handler) (web.Handler, error) {
	st := c.Sites[name]
	var rules []route.Rule
	for i, r := range st.Routes {
		path := fmt.Sprintf("sites.%s.routes[%d]", name, i)
		h, err := s.handlerFor(c, path, r, apps)
		if err != nil {
			return nil, err
		}
		if set, remove := headerRules(&st.HeaderOps, &r.HeaderOps); set != nil || remove != nil {
			h = action.NewHeaders(h, set, remove)
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

// handlerFor makes the handler of a route's action.
func (s *built) handlerFor(c *config.Config, path string, r *config.Route, apps map[string]web.Handler) (web.Handler, error) {
	switch {
	case r.Root != "":
		h, err := static.New(s.staticConfig(r))
		if err != nil {
			return nil, config.List{c.At(path+".root", "%v", err)}
		}
		s.statics = append(s.statics, h)
		return h, nil
	case r.App != "":
		return apps[r.App], nil
	case r.Redirect != "":
		loc, _ := action.ParseTemplate(r.Redirect) // validated
		return action.NewRedirect(r.Status, loc), nil
	case r.Respond != nil:
		body, _ := action.ParseTemplate(*r.Respond) // validated
		return &action.Respond{Status: r.Status, ContentType: r.ContentType, Body: body}, nil
	}
	return nil, config.List{c.At(path, "no action this nave can run")}
}

func (s *built) staticConfig(r *config.Route) static.Config {
	sc := static.Config{
		Dir: r.Root, Index: r.Index, Browse: r.Browse, ShowHidden: r.ShowHidden,
		FollowSymlinks: r.FollowSymlinks, CacheControl: r.CacheControl, Gzip: r.Gzip,
		CacheBytes: int64(r.FileCache), CacheValid: r.FileCacheValid.D(), Logger: s.log,
	}
	if r.Root == demoRoot {
		sc.Dir, sc.FS = "", s.demo
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

// serverConfig is a listener's server.Config: the server-wide limits and
// timeouts, the listener's protocols.
func serverConfig(c *config.Config, cl *config.Listener, h web.Handler, log *slog.Logger, alog *accesslog.Logger) server.Config {
	t, hc := c.Timeouts, c.HTTP2
	sc := server.Config{
		Handler: h,
		Limits: http1.Limits{
			MaxRequestLine: int(c.Limits.MaxRequestLine),
			MaxHeaderBytes: int(c.Limits.MaxHeaderBytes),
			MaxHeaderCount: c.Limits.MaxHeaders,
			MaxBodyBytes:   int64(c.Limits.MaxBody),
		},
		HeadTimeout: t.Head.D(), BodyTimeout: t.Body.D(), WriteTimeout: t.Write.D(), IdleTimeout: t.Idle.D(),
		Logger: log,
		HTTP2: http2.Config{
			MaxConcurrentStreams: uint32(hc.MaxStreams),
			MaxHeaderListSize:    uint32(hc.MaxHeaderList),
			MaxFrameSize:         uint32(hc.MaxFrame),
			StreamWindow:         uint32(hc.StreamWindow),
			ConnWindow:           uint32(hc.ConnWindow),
			FloodRate:            uint32(hc.FloodRate),
			SettingsTimeout:      hc.SettingsTimeout.D(),
		},
		DisableH2C: !slices.Contains(cl.Protocols, "h2c"),
	}
	if cl.TLS != nil {
		sc.HandshakeTimeout = cl.TLS.HandshakeTimeout.D()
	}
	if alog != nil {
		sc.AccessLog = alog.Log
	}
	return sc
}

// start starts every app's workers, all before any listener serves. On a
// failure it prints the worker's output and returns the app's name.
func (s *built) start(stderr io.Writer) (string, error) {
	for _, name := range slices.Sorted(maps.Keys(s.pools)) {
		if err := s.pools[name].Start(); err != nil {
			var se *wsgi.StartError
			if errors.As(err, &se) && se.Output != "" {
				fmt.Fprintln(stderr, strings.TrimRight(se.Output, "\n"))
			}
			return name, err
		}
	}
	return "", nil
}

// serve serves every listener until ctx ends or a signal, then drains
// and stops the apps.
func (s *built) serve(ctx context.Context, stderr io.Writer) error {
	all := make([]serving, len(s.listeners))
	for i, l := range s.listeners {
		all[i] = serving{srv: l.srv, ln: l.ln}
		if l.tls != nil {
			all[i].tls = l.tls.config
		}
	}
	return serveAll(ctx, all, s.drain, stderr)
}

// reload reloads every listener's certificates and every app's code, as
// SIGHUP asks.
func (s *built) reload() {
	for _, l := range s.listeners {
		if l.tls != nil {
			s.log.Info("SIGHUP: reloading the certificates", "listener", l.name)
			l.tls.store.Reload()
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.pools)) {
		reloadPool(s.pools[name], s.log.With("app", name))
	}
}

// close stops the apps and closes the listeners, handlers and logs.
func (s *built) close() {
	sctx, cancel := context.WithTimeout(context.Background(), s.drain)
	defer cancel()
	for _, p := range s.pools {
		p.Stop(sctx)
	}
	for _, l := range s.listeners {
		l.ln.Close()
	}
	for _, h := range s.statics {
		h.Close()
	}
	if s.alog != nil {
		s.alog.Close()
	}
}

// shorthandListeners are a shorthand config's listeners as nave serve
// and nave wsgi print and reload them.
func (s *built) shorthandListeners() *listeners {
	ls := &listeners{}
	for _, l := range s.listeners {
		switch l.name {
		case mainName:
			ls.main, ls.tls = l.ln, l.tls
		case redirectName:
			ls.redirect = l.ln
		}
	}
	return ls
}

// urls says where each listener serves, one line each.
func (s *built) announce(w io.Writer) {
	for _, l := range s.listeners {
		scheme := "http"
		if l.tls != nil {
			scheme = "https"
		}
		addr := l.ln.Addr().(*net.TCPAddr)
		fmt.Fprintf(w, "Listening as %s on %s port %d (%s://%s/)\n", l.name, addr.IP, addr.Port, scheme, l.ln.Addr())
	}
	for _, name := range slices.Sorted(maps.Keys(s.pools)) {
		p := s.pools[name]
		fmt.Fprintf(w, "Running app %s: %d workers, Python %s\n", name, p.Workers(), p.Python())
	}
}

package cli

import (
	"cmp"
	"errors"
	"slices"
	"strconv"

	"nave/internal/config"
)

// The names a shorthand config gives what its flags describe.
const (
	mainName     = config.DefaultListenerName // --listen
	redirectName = "http"                     // --redirect-http
	siteName     = "main"
	appName      = "app"
)

// config is what the shared flags say, as a config without sites: the
// listener (and the --redirect-http one), the limits, timeouts and logs.
// nave serve and nave wsgi are shorthands for a config nave run could read.
func (f *serverFlags) config() *config.Config {
	lim := f.limits()
	c := &config.Config{
		Listeners: map[string]*config.Listener{mainName: {Address: f.listen, Protocols: f.h2.protocols(), TrustedProxies: f.trusted, ProxyProtocol: f.proxyProto}},
		Limits: config.Limits{
			MaxRequestLine: config.Size(lim.MaxRequestLine), MaxHeaderBytes: config.Size(lim.MaxHeaderBytes),
			MaxHeaders: lim.MaxHeaderCount, MaxBody: config.Size(lim.MaxBodyBytes),
		},
		Timeouts: config.Timeouts{
			Head: config.Duration(f.timeouts.HeadTimeout), Body: config.Duration(f.timeouts.BodyTimeout),
			Write: config.Duration(f.timeouts.WriteTimeout), Idle: config.Duration(f.timeouts.IdleTimeout),
			Drain: config.Duration(f.drainTimeout), DrainDelay: config.Duration(f.drainDelay),
			Upgrade: config.Duration(f.upgrade),
		},
		HTTP2: config.HTTP2{
			MaxStreams: f.h2.streams, MaxHeaderList: config.Size(f.h2.headerList), MaxFrame: config.Size(f.h2.frame),
			StreamWindow: config.Size(f.h2.streamWindow), ConnWindow: config.Size(f.h2.connWindow),
			FloodRate: f.h2.floodRate, SettingsTimeout: config.Duration(f.h2.settingsTimeout),
		},
		Log: config.Log{Access: f.accessLog, Format: f.logFormat, Level: f.logLevel, RequestID: f.requestID,
			Trace: string(f.trace), TracePath: f.tracePath},
		Admin: config.Admin{Metrics: f.metrics, Status: f.status},
		Sites: map[string]*config.Site{siteName: {}},
	}
	if f.tls.enabled() {
		c.Listeners[mainName].TLS = f.tls.config()
	}
	if f.tls.redirectHTTP != "" {
		c.Listeners[redirectName] = &config.Listener{Address: f.tls.redirectHTTP, RedirectHTTPS: mainName, Protocols: f.h2.protocols()}
	}
	return c
}

// protocols are the listener protocols the HTTP/2 flags leave on.
func (f *h2Flags) protocols() []string {
	switch {
	case !f.on:
		return []string{"h1"}
	case !f.h2c:
		return []string{"h1", "h2"}
	}
	return config.DefaultProtocols()
}

// config is the TLS flags as a listener's tls; tlsFlagsOf turns it back.
func (f *tlsFlags) config() *config.TLS {
	t := &config.TLS{
		SelfSigned: f.selfSigned, Names: f.domains, TicketKeys: f.ticketKeyFile,
		HandshakeTimeout: config.Duration(f.handshakeTimeout), HSTS: config.Duration(f.hsts),
	}
	for i := range f.certFiles {
		t.Certificates = append(t.Certificates, config.CertFiles{Cert: f.certFiles[i], Key: f.keyFiles[i]})
	}
	if f.acme() {
		t.ACME = &config.ACME{Email: f.acmeEmail, CA: f.acmeCA, CARoot: f.acmeCARoot}
		if f.acmeChallenges != "" {
			t.ACME.Challenges = f.challenges()
		}
	}
	return t
}

// config is nave serve as a config: one site, one route serving DIR (or
// the demo site).
func (o *serveOptions) config() *config.Config {
	c := o.server.config()
	r := &config.Route{Root: o.dir, Files: config.Files{
		Index: o.static.Index, Browse: o.static.Browse, ShowHidden: o.static.ShowHidden,
		FollowSymlinks: o.static.FollowSymlinks, CacheControl: o.static.CacheControl, Gzip: o.static.Gzip,
		FileCache: config.Size(o.static.CacheBytes), FileCacheValid: config.Duration(o.static.CacheValid),
	}}
	if r.Root == "" {
		r.Root = demoRoot
	}
	for code, page := range o.static.ErrorPages {
		if r.ErrorPages == nil {
			r.ErrorPages = map[string]string{}
		}
		r.ErrorPages[strconv.Itoa(code)] = page
	}
	c.Sites[siteName].Routes = []*config.Route{r}
	c.Complete()
	return c
}

// config is nave wsgi as a config: the app, the --static folders before
// it, longest prefix first, and the app at --mount.
func (o *wsgiOptions) config() *config.Config {
	c := o.server.config()
	timeout := config.Duration(o.pool.Timeout)
	if o.pool.Timeout < 0 {
		timeout = config.Off
	}
	c.Apps = map[string]*config.App{appName: {
		Module: o.pool.App, Python: o.pool.Python, Chdir: o.pool.Dir, Workers: o.pool.Workers,
		Timeout: timeout, StartTimeout: config.Duration(o.pool.StartTimeout), MaxRequests: o.pool.MaxRequests,
		Backlog: o.pool.Backlog,
	}}
	statics := slices.Clone(o.statics)
	slices.SortStableFunc(statics, func(a, b staticRoute) int { return cmp.Compare(len(b.prefix), len(a.prefix)) })
	var routes []*config.Route
	for _, s := range statics {
		routes = append(routes, &config.Route{Match: config.Match{Path: s.prefix}, Root: s.dir})
	}
	routes = append(routes, &config.Route{Match: config.Match{Path: o.mount}, App: appName})
	c.Sites[siteName].Routes = routes
	c.Complete()
	return c
}

// shorthandError turns a config problem back into the one-line usage
// error a flag would get: the flags, not a file, were wrong.
func shorthandError(err error) error {
	var l config.List
	if errors.As(err, &l) && len(l) > 0 {
		return usagef("%s", l[0].Msg)
	}
	return err
}

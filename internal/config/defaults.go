package config

import (
	"path/filepath"
	"time"

	"nave/internal/asgi"
	"nave/internal/http1"
	"nave/internal/http2"
	"nave/internal/reqid"
	"nave/internal/server"
	"nave/internal/static"
	"nave/internal/wsgi"
)

// Defaults that belong to the config itself; the rest are the packages'
// own (http1.DefaultMaxBodyBytes, wsgi.DefaultTimeout...).
const (
	DefaultListen       = "127.0.0.1:8000"
	DefaultListenTLS    = "127.0.0.1:8443"
	DefaultListenerName = "main"
	// DefaultDrainTimeout is how long a shutdown waits for requests in
	// flight, as gunicorn's graceful timeout.
	DefaultDrainTimeout = 30 * time.Second
	// DefaultUpgradeTimeout bounds the wait for a binary upgrade's new
	// process to be ready.
	DefaultUpgradeTimeout = 60 * time.Second
	DefaultRedirect       = 308
	DefaultContentType    = "text/plain; charset=utf-8"
	DefaultInterface      = "wsgi"
	DefaultLifespan       = "auto"
	DefaultLoop           = "auto"
	DefaultNative         = "auto"
	DefaultBalance        = "round_robin"
	DefaultAccessLog      = "-"
	DefaultLogFormat      = "combined"
	DefaultLogLevel       = "info"
	DefaultRequestID      = reqid.DefaultField
)

// DefaultProtocols are the protocols a listener serves unless it says.
func DefaultProtocols() []string { return []string{"h1", "h2", "h2c"} }

// Complete fills in every default, in this one place, and makes relative
// paths absolute against c.Dir, so that a completed Config says all that
// nave will do and two of them compare field by field. It is idempotent.
func (c *Config) Complete() {
	if len(c.Listeners) == 0 {
		c.Listeners = map[string]*Listener{DefaultListenerName: {}}
	}
	for _, l := range c.Listeners {
		if l != nil {
			c.completeListener(l)
		}
	}
	for _, s := range c.Sites {
		if s == nil {
			continue
		}
		for _, r := range s.Routes {
			if r != nil {
				c.completeRoute(r)
			}
		}
	}
	for _, a := range c.Apps {
		if a != nil {
			c.completeApp(a)
		}
	}
	for _, u := range c.Upstreams {
		if u != nil {
			or(&u.Balance, DefaultBalance)
		}
	}
	c.completeServer()
}

func (c *Config) completeListener(l *Listener) {
	if l.Protocols == nil {
		l.Protocols = DefaultProtocols()
	}
	if l.TLS == nil {
		or(&l.Address, DefaultListen)
		return
	}
	or(&l.Address, DefaultListenTLS)
	t := l.TLS
	or(&t.HandshakeTimeout, Duration(server.DefaultHandshakeTimeout))
	for i := range t.Certificates {
		c.abs(&t.Certificates[i].Cert)
		c.abs(&t.Certificates[i].Key)
	}
	c.abs(&t.TicketKeys)
	if t.ACME != nil {
		c.abs(&t.ACME.CARoot)
	}
}

func (c *Config) completeRoute(r *Route) {
	switch {
	case r.Redirect != "":
		or(&r.Status, DefaultRedirect)
	case r.Respond != nil:
		or(&r.Status, 200)
		or(&r.ContentType, DefaultContentType)
	case r.Root != "":
		c.abs(&r.Root)
		if r.Index == nil {
			r.Index = []string{static.DefaultIndex}
		}
		if r.FileCache == 0 {
			r.FileCache = static.DefaultCacheBytes
		}
	}
}

func (c *Config) completeApp(a *App) {
	or(&a.Interface, DefaultInterface)
	c.abs(&a.Chdir)
	c.abs(&a.Virtualenv)
	if filepath.Base(a.Python) != a.Python { // a path, not a name looked up on PATH
		c.abs(&a.Python)
	}
	or(&a.Timeout, Duration(wsgi.DefaultTimeout))
	or(&a.StartTimeout, Duration(wsgi.DefaultStartTimeout))
	or(&a.Backlog, wsgi.DefaultBacklog)
	if a.Interface == "asgi" {
		or(&a.Lifespan, DefaultLifespan)
		or(&a.Loop, DefaultLoop)
		or(&a.Native, DefaultNative)
		or(&a.LimitConcurrency, asgi.DefaultLimitConcurrency)
	}
}

func (c *Config) completeServer() {
	l := &c.Limits
	or(&l.MaxRequestLine, Size(http1.DefaultMaxRequestLine))
	or(&l.MaxHeaderBytes, Size(http1.DefaultMaxHeaderBytes))
	or(&l.MaxHeaders, http1.DefaultMaxHeaderCount)
	or(&l.MaxBody, Size(http1.DefaultMaxBodyBytes))
	t := &c.Timeouts
	or(&t.Head, Duration(server.DefaultHeadTimeout))
	or(&t.Body, Duration(server.DefaultBodyTimeout))
	or(&t.Write, Duration(server.DefaultWriteTimeout))
	or(&t.Idle, Duration(server.DefaultIdleTimeout))
	or(&t.Drain, Duration(DefaultDrainTimeout))
	or(&t.Upgrade, Duration(DefaultUpgradeTimeout))
	h := &c.HTTP2
	or(&h.MaxStreams, http2.DefaultMaxConcurrentStreams)
	or(&h.MaxHeaderList, Size(http2.DefaultMaxHeaderListSize))
	or(&h.MaxFrame, Size(http2.DefaultMaxFrameSize))
	or(&h.StreamWindow, Size(http2.DefaultStreamWindow))
	or(&h.ConnWindow, Size(http2.DefaultConnWindow))
	or(&h.FloodRate, http2.DefaultFloodRate)
	or(&h.SettingsTimeout, Duration(http2.DefaultSettingsTimeout))
	g := &c.Log
	or(&g.Access, DefaultAccessLog)
	or(&g.Format, DefaultLogFormat)
	or(&g.Level, DefaultLogLevel)
	or(&g.RequestID, DefaultRequestID)
	if g.Access != "-" && g.Access != "off" {
		c.abs(&g.Access)
	}
	if g.Trace != "-" {
		c.abs(&g.Trace)
	}
	if c.Admin.Socket != "off" {
		c.abs(&c.Admin.Socket)
	}
}

// abs makes a relative path absolute against c.Dir.
func (c *Config) abs(p *string) {
	if *p != "" && !filepath.IsAbs(*p) && c.Dir != "" {
		*p = filepath.Join(c.Dir, *p)
	}
}

// or sets *p to def when it is the zero value.
func or[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

package config

import (
	"path/filepath"
	"time"

	"nave/internal/http1"
	"nave/internal/http2"
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
	DefaultRedirect     = 308
	DefaultContentType  = "text/plain; charset=utf-8"
	DefaultInterface    = "wsgi"
	DefaultBalance      = "round_robin"
	DefaultAccessLog    = "-"
	DefaultLogFormat    = "combined"
	DefaultLogLevel     = "info"
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
		if u != nil && u.Balance == "" {
			u.Balance = DefaultBalance
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
	orDuration(&t.HandshakeTimeout, server.DefaultHandshakeTimeout)
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
		orInt(&r.Status, DefaultRedirect)
	case r.Respond != nil:
		orInt(&r.Status, 200)
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
	orDuration(&a.Timeout, wsgi.DefaultTimeout)
	orDuration(&a.StartTimeout, wsgi.DefaultStartTimeout)
	orInt(&a.Backlog, wsgi.DefaultBacklog)
}

func (c *Config) completeServer() {
	l := &c.Limits
	orSize(&l.MaxRequestLine, http1.DefaultMaxRequestLine)
	orSize(&l.MaxHeaderBytes, http1.DefaultMaxHeaderBytes)
	orInt(&l.MaxHeaders, http1.DefaultMaxHeaderCount)
	orSize(&l.MaxBody, http1.DefaultMaxBodyBytes)
	t := &c.Timeouts
	orDuration(&t.Head, server.DefaultHeadTimeout)
	orDuration(&t.Body, server.DefaultBodyTimeout)
	orDuration(&t.Write, server.DefaultWriteTimeout)
	orDuration(&t.Idle, server.DefaultIdleTimeout)
	orDuration(&t.Drain, DefaultDrainTimeout)
	h := &c.HTTP2
	if h.MaxStreams == 0 {
		h.MaxStreams = http2.DefaultMaxConcurrentStreams
	}
	orSize(&h.MaxHeaderList, http2.DefaultMaxHeaderListSize)
	orSize(&h.MaxFrame, http2.DefaultMaxFrameSize)
	orSize(&h.StreamWindow, http2.DefaultStreamWindow)
	orSize(&h.ConnWindow, http2.DefaultConnWindow)
	if h.FloodRate == 0 {
		h.FloodRate = http2.DefaultFloodRate
	}
	orDuration(&h.SettingsTimeout, http2.DefaultSettingsTimeout)
	g := &c.Log
	or(&g.Access, DefaultAccessLog)
	or(&g.Format, DefaultLogFormat)
	or(&g.Level, DefaultLogLevel)
	if g.Access != "-" && g.Access != "off" {
		c.abs(&g.Access)
	}
}

// abs makes a relative path absolute against c.Dir.
func (c *Config) abs(p *string) {
	if *p != "" && !filepath.IsAbs(*p) && c.Dir != "" {
		*p = filepath.Join(c.Dir, *p)
	}
}

func or(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

func orInt(n *int, def int) {
	if *n == 0 {
		*n = def
	}
}

func orSize(n *Size, def int64) {
	if *n == 0 {
		*n = Size(def)
	}
}

func orDuration(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

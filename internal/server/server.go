// Package server runs nave's HTTP/1.1 connections, in the clear or over
// TLS: listeners and their accept loops, one goroutine per connection, keep-alive and pipelining,
// a deadline for every phase, handler panic recovery and graceful Shutdown.
//
// It speaks the wire through internal/http1 and never imports a handler
// package (static, wsgi, accesslog): handlers and the access-log hook are
// injected through Config.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"nave/internal/http1"
	"nave/internal/http2"
	"nave/internal/servermetrics"
	"nave/internal/web"
	"nave/internal/wiretrace"
)

// Defaults for Config's timeouts. The head timeout runs from a request's
// first byte, so a person typing into telnet has time; the body and write
// timeouts run between two successive reads or writes, as nginx's
// client_body_timeout and send_timeout do, so large slow transfers live.
const (
	DefaultHeadTimeout  = 30 * time.Second
	DefaultBodyTimeout  = 60 * time.Second
	DefaultWriteTimeout = 60 * time.Second
	DefaultIdleTimeout  = 75 * time.Second
)

// maxDrain is how much of an unread request body the server reads and
// drops to keep the connection; a larger leftover closes it instead.
const maxDrain = 256 << 10

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("server: closed")

// Config configures a Server. Its zero value serves nothing useful (no
// Handler answers 404) but works; each zero duration means its default.
type Config struct {
	Handler      web.Handler
	Limits       http1.Limits
	HeadTimeout  time.Duration // reading a request head, from its first byte
	BodyTimeout  time.Duration // between two reads of a request body
	WriteTimeout time.Duration // between two writes of a response
	IdleTimeout  time.Duration // waiting for the next request on a kept-alive connection
	// HandshakeTimeout bounds a TLS handshake (ServeTLS), from the first
	// byte of the ClientHello.
	HandshakeTimeout time.Duration
	Logger           *slog.Logger // server errors; nil discards them
	// AccessLog, when set, is called after each response.
	AccessLog func(r *web.Request, w *web.ResponseWriter)
	// HTTP2 holds HTTP/2's limits; its Handler, Logger and AccessLog are
	// the ones above. HTTP/2 is served over TLS when the listener's
	// tls.Config offers "h2" by ALPN, and in the clear to clients that
	// open with its preface (h2c), unless DisableH2C.
	HTTP2      http2.Config
	DisableH2C bool
	// ProxyProtocol: every connection opens with a PROXY protocol v1 or v2
	// header (a load balancer in front sends it), read within HeadTimeout;
	// one without is closed. The header's client address becomes the
	// connection's remote address when the sender is in TrustedProxies, or
	// TrustedProxies is empty.
	ProxyProtocol  bool
	TrustedProxies []netip.Prefix
	// Metrics, when set, is updated as connections and requests come and
	// go, over HTTP/1 and HTTP/2 (HTTP2.Metrics is set from it); nil is
	// off and costs a nil check.
	Metrics *servermetrics.Set
	// Trace, when set, is given what crosses the wire, as --trace shows
	// it: HTTP/1 heads as text, HTTP/2 frames (HTTP2.Trace is set from
	// it). nil is off and costs a nil check per request.
	Trace *wiretrace.Tracer
}

func (c *Config) headTimeout() time.Duration  { return orDefault(c.HeadTimeout, DefaultHeadTimeout) }
func (c *Config) bodyTimeout() time.Duration  { return orDefault(c.BodyTimeout, DefaultBodyTimeout) }
func (c *Config) writeTimeout() time.Duration { return orDefault(c.WriteTimeout, DefaultWriteTimeout) }
func (c *Config) idleTimeout() time.Duration  { return orDefault(c.IdleTimeout, DefaultIdleTimeout) }
func (c *Config) handshakeTimeout() time.Duration {
	return orDefault(c.HandshakeTimeout, DefaultHandshakeTimeout)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Server serves HTTP/1.1 on any number of listeners.
type Server struct {
	cfg      Config
	handler  web.Handler
	log      *slog.Logger
	shutting atomic.Bool
	done     chan struct{} // closed by Shutdown and Close
	conns    sync.WaitGroup
	pool     sync.Pool // *exchange
	h2       http2.Config
	m        *servermetrics.Set // cfg.Metrics; nil is off

	mu        sync.Mutex
	listeners map[net.Listener]struct{} // guarded by mu
	active    map[*conn]struct{}        // every open connection, parked too; guarded by mu
	closeOnce sync.Once

	parkOnce  sync.Once
	parker    *parker       // nil until Serve starts it, or where parking is unsupported
	parkAfter time.Duration // DefaultParkAfter; tests shorten it
}

// New returns a Server for cfg. cfg is copied.
func New(cfg Config) *Server {
	s := &Server{
		cfg:       cfg,
		handler:   cfg.Handler,
		m:         cfg.Metrics,
		log:       cfg.Logger,
		done:      make(chan struct{}),
		listeners: make(map[net.Listener]struct{}),
		active:    make(map[*conn]struct{}),
		parkAfter: DefaultParkAfter,
	}
	if s.handler == nil {
		s.handler = web.HandlerFunc(notFound)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.pool.New = func() any { return new(exchange) }
	s.h2 = cfg.HTTP2
	s.h2.Handler, s.h2.Logger, s.h2.AccessLog, s.h2.Trace = s.handler, s.log, cfg.AccessLog, cfg.Trace
	s.h2.Metrics = cfg.Metrics
	if s.h2.IdleTimeout == 0 {
		s.h2.IdleTimeout = cfg.IdleTimeout
	}
	if s.h2.WriteTimeout == 0 {
		s.h2.WriteTimeout = cfg.WriteTimeout
	}
	if s.h2.BodyTimeout == 0 {
		s.h2.BodyTimeout = cfg.BodyTimeout
	}
	if s.h2.HeadTimeout == 0 {
		s.h2.HeadTimeout = cfg.HeadTimeout
	}
	return s
}

func notFound(w *web.ResponseWriter, _ *web.Request) {
	web.Error(w, 404, "not found")
}

// Serve accepts connections on ln until Shutdown or Close, and then
// returns ErrServerClosed. Temporary accept failures, such as running out
// of file descriptors, are logged and retried with a capped back-off.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, nil) }

// ServeTLS is Serve for HTTPS: each connection's handshake uses tc, which
// must not be changed afterwards (its GetCertificate may change what it
// serves). Until the client's first bytes arrive a connection costs what an
// idle plain one does.
func (s *Server) ServeTLS(ln net.Listener, tc *tls.Config) error {
	if tc == nil {
		return errors.New("server: ServeTLS needs a TLS configuration")
	}
	return s.serve(ln, tc)
}

func (s *Server) serve(ln net.Listener, tc *tls.Config) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	s.parkOnce.Do(s.startParking)
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			s.m.Refused()
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Error("accept failed; retrying", "listener", ln.Addr().String(), "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-s.done:
				return ErrServerClosed
			}
			continue
		}
		delay = 0
		s.m.Accepted()
		c := s.newConn(nc, tc)
		if c == nil {
			s.m.Refused()
			nc.Close()
			continue
		}
		go c.serve()
	}
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
}

// Shutdown stops accepting, closes idle connections, lets requests in
// flight finish (their connections then close), and returns when every
// connection is gone or ctx ends; then it closes what remains and returns
// ctx's error at once, without waiting for handlers still running: one
// stuck on something other than its connection must not hold it up.
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginShutdown()
	finished := make(chan struct{})
	go func() {
		s.conns.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		s.closeConns()
		return ctx.Err()
	}
}

// Close stops at once: listeners and every connection are closed.
func (s *Server) Close() error {
	s.beginShutdown()
	s.closeConns()
	s.conns.Wait()
	return nil
}

// Conns is how many connections the server holds open now, idle and
// parked ones included.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

func (s *Server) beginShutdown() {
	s.closeOnce.Do(func() {
		s.shutting.Store(true)
		close(s.done)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.active {
		c.wake()
	}
	if s.parker != nil {
		for _, c := range s.parker.close() {
			go c.serve() // it sees the shutdown, serves what arrived, and closes
		}
	}
}

func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.active {
		c.nc.Close()
	}
}

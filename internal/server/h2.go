package server

// HTTP/2: a TLS connection whose client chose h2 by ALPN, or a cleartext
// one that opens with the HTTP/2 client preface (h2c with prior
// knowledge, RFC 9113 §3.3), is handed to internal/http2 for good.

import (
	"errors"
	"time"

	"nave/internal/http2"
)

// errH2 is the handshake's answer when ALPN agreed on h2.
var errH2 = errors.New("server: ALPN agreed on h2")

// isH2C reports whether a cleartext connection's first bytes are the
// HTTP/2 client preface. It reads only as far as they match it, so an
// HTTP/1 request, however short, is never waited on.
func (c *conn) isH2C(ex *exchange) bool {
	c.mayH2C = false
	c.phase, c.headDeadline = phaseHead, time.Now().Add(c.s.cfg.headTimeout())
	ex.in.Src = c
	for n := 1; n <= len(http2.ClientPreface); n++ {
		b, err := ex.in.Peek(n)
		if string(b) != http2.ClientPreface[:len(b)] {
			return false
		}
		if err != nil {
			return false // HTTP/1 parsing reports the short read
		}
	}
	return true
}

// serveH2 runs the connection as HTTP/2. buffered holds bytes already
// read (the preface, for h2c). It returns when the connection is over or
// when its reading moved to another goroutine; either way the connection
// finishes (closes, leaves the server's books) when HTTP/2 says it ended,
// so that this goroutine's stack is not kept waiting for it.
func (c *conn) serveH2(buffered []byte) {
	c.s.mu.Lock()
	c.fd = -1 // an HTTP/2 connection keeps its goroutine: never parked
	c.s.mu.Unlock()
	c.nc.SetDeadline(time.Time{})
	info := http2.Info{Remote: c.remote, Local: c.local, TLS: c.tlsState, TrustedPeer: c.trustedPeer}
	if c.batch != nil {
		info.Batch = c.batch
	}
	var h *http2.Conn
	info.Ended = func() {
		c.wakeMu.Lock()
		c.h2 = nil
		c.wakeMu.Unlock()
		h.Release()
		c.finish()
	}
	h = http2.NewConn(&c.s.h2, c.stream(), info)
	c.wakeMu.Lock()
	c.h2 = h
	c.wakeMu.Unlock()
	if c.s.shutting.Load() {
		h.Shutdown()
	}
	h.Serve(buffered)
}

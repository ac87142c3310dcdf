package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"nave/internal/http2"
	"nave/internal/web"
)

// h2conns are a server's HTTP/2 connections, for an upstream that speaks
// h2c: requests share them, as many at once as the server allows.
type h2conns struct {
	mu    sync.Mutex
	conns []*http2.ClientConn // guarded by mu
}

// h2take returns a connection to s with a stream slot reserved for a
// request: an open one with room, else a new one. Dialing holds the
// lock, so that requests arriving together share the new connection
// rather than each dial one.
func (h *Handler) h2take(s *server) (*http2.ClientConn, error) {
	p := &s.h2
	p.mu.Lock()
	defer p.mu.Unlock()
	var found *http2.ClientConn
	live := p.conns[:0]
	for _, cc := range p.conns {
		if cc.Dead() {
			// Going away: its streams finish, and the server closes it.
			if cc.Idle(0) {
				cc.Close()
			}
			continue
		}
		live = append(live, cc)
		if found == nil && cc.Reserve() {
			found = cc
		}
	}
	clear(p.conns[len(live):])
	p.conns = live
	if found != nil {
		return found, nil
	}
	nc, err := h.dialer.Dial("tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errDial, err)
	}
	cc, err := http2.NewClientConn(nc, http2.ClientConfig{WriteTimeout: h.set.write})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errDial, err)
	}
	cc.Reserve() // a new connection has room
	if !s.retired.Load() {
		p.conns = append(p.conns, cc)
	}
	return cc, nil
}

// h2sweep closes the connections with no stream for longer than idle;
// idle 0 closes every one without a stream.
func (s *server) h2sweep(idle time.Duration) {
	p := &s.h2
	p.mu.Lock()
	defer p.mu.Unlock()
	live := p.conns[:0]
	for _, cc := range p.conns {
		if cc.Idle(idle) || cc.Dead() && cc.Idle(0) {
			cc.Close()
			continue
		}
		live = append(live, cc)
	}
	clear(p.conns[len(live):])
	p.conns = live
}

// tryH2 sends r to s as an HTTP/2 stream and relays the answer.
func (h *Handler) tryH2(w *web.ResponseWriter, r *web.Request, s *server, start time.Time) attempt {
	cc, err := h.h2take(s)
	if err != nil {
		h.markFailed(s, err)
		return attempt{err: err, status: failStatus(err)}
	}
	hasBody := r.ContentLength != 0
	x := h2Scratches.Get().(*h2Scratch)
	req := h.h2Request(r, s, x)
	if hasBody {
		req.Body = r.Body
	}
	st, err := cc.RoundTrip(req)
	x.req = http2.ClientRequest{} // let go of r's body
	h2Scratches.Put(x)
	if err != nil {
		var be *http2.BodyError
		if errors.As(err, &be) {
			return attempt{err: &clientError{be.Err}, status: 400, sent: true, body: true}
		}
		return h.h2failed(s, err, hasBody)
	}
	defer st.Close()
	status, fields, err := st.Head(time.Now().Add(h.set.header))
	if err != nil {
		return h.h2failed(s, err, hasBody)
	}
	hd := w.Header()
	for i := range fields.Len() {
		if name, value := fields.At(i); !hopByHop(name) {
			hd.AddTrusted(name, value)
		}
	}
	w.WriteHeader(status)
	if string(r.Method) == "HEAD" || !web.BodyAllowed(status) {
		s.succeeded()
		return attempt{}
	}
	if err := h.h2body(w, st); err != nil {
		if !isClientError(err) {
			h.markFailed(s, err)
		}
		return attempt{err: err, status: failStatus(err), sent: true, body: hasBody}
	}
	for tr, i := st.Trailer(), 0; i < tr.Len(); i++ {
		if name, value := tr.At(i); !hopByHop(name) {
			w.Trailer().AddTrusted(name, value)
		}
	}
	s.succeeded()
	return attempt{}
}

// h2failed is a try that failed before the response head: a request the
// server refused unprocessed (GOAWAY, REFUSED_STREAM, RFC 9113 §8.7) can
// go anywhere again, and says nothing of the server's health.
func (h *Handler) h2failed(s *server, err error, hasBody bool) attempt {
	if errors.Is(err, http2.ErrRefused) {
		return attempt{err: err, status: 502, body: hasBody}
	}
	h.markFailed(s, err)
	return attempt{err: err, status: failStatus(err), sent: true, body: hasBody}
}

// h2body copies the response body: the stream's window (256 KiB) and
// one buffer bound what waits in nave for a slow client.
func (h *Handler) h2body(w *web.ResponseWriter, st *http2.ClientStream) error {
	p, ok := h.bufs.Get().(*[]byte)
	if !ok {
		b := make([]byte, bodyBufferSize)
		p = &b
	}
	defer h.bufs.Put(p)
	buf := *p
	for {
		n, err := st.ReadBody(buf, time.Now().Add(h.set.read))
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return &clientError{werr}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// h2Request is r as sent upstream over HTTP/2, built in x: the head
// appendRequest renders (the same fields, forwarding ones and Via as over
// HTTP/1.1), its request line and Host made pseudo-header fields, and the
// fields HTTP/2 forbids (RFC 9113 §8.2.2) left out. The request points
// into x, which RoundTrip is done with once it returns.
func (h *Handler) h2Request(r *web.Request, s *server, x *h2Scratch) *http2.ClientRequest {
	x.head = h.appendRequest(x.head[:0], r, s, false)
	line, rest, _ := bytes.Cut(x.head, crlf)
	method, line, _ := bytes.Cut(line, sp)
	target, _, _ := bytes.Cut(line, sp)
	x.hd.Reset()
	x.req = http2.ClientRequest{Method: method, Scheme: schemeHTTP, Path: target, Header: &x.hd, ContentLength: r.ContentLength}
	for len(rest) > 2 {
		var field []byte
		field, rest, _ = bytes.Cut(rest, crlf)
		name, value, _ := bytes.Cut(field, colonSP)
		switch {
		case web.EqualFold(name, "host"):
			x.req.Authority = value
		case web.EqualFold(name, "transfer-encoding"), hopByHop(name):
		default:
			x.hd.AddTrusted(name, value)
		}
	}
	return &x.req
}

// h2Scratch is the memory an HTTP/2 request to an upstream is built in,
// reused from request to request.
type h2Scratch struct {
	head []byte
	hd   web.Header
	req  http2.ClientRequest
}

var h2Scratches = sync.Pool{New: func() any { return new(h2Scratch) }}

var schemeHTTP = []byte("http")

var (
	crlf    = []byte("\r\n")
	sp      = []byte(" ")
	colonSP = []byte(": ")
)

package http1

import (
	"io"
	"time"

	"nave/internal/web"
)

// Upgrader is implemented by a destination that must know when its
// connection is handed over (the server: no more request deadlines, and
// no reuse).
type Upgrader interface {
	Upgraded()
}

// Upgrade sends 101 Switching Protocols with h's fields, Connection and
// Upgrade included (RFC 9110 §7.8, §15.2.2), and returns the connection
// as a byte stream. HTTP/1.0 has no 101: it gets web.ErrUpgrade.
func (s *Writer) Upgrade(h *web.Head) (io.ReadWriteCloser, error) {
	if s.req.ProtoMinor == 0 || s.committed || s.err != nil {
		return nil, web.ErrUpgrade
	}
	s.committed, s.close = true, true
	b := appendStatusLine(s.head[:0], 101, h.Reason)
	b = s.appendDateServer(b, h.Header)
	b = appendFields(b, h.Header, false) // Connection and Upgrade included
	s.head = append(b, '\r', '\n')
	s.output(s.head)
	if s.err != nil {
		return nil, s.err
	}
	if u, ok := s.dst.(Upgrader); ok {
		u.Upgraded()
	}
	return &upgraded{in: s.req.Body.in, dst: s.dst}, nil
}

// upgraded is a connection after 101: reads take what the client sent
// after the request first, then the connection's bytes.
type upgraded struct {
	in  *Input
	dst io.Writer
}

func (u *upgraded) Read(p []byte) (int, error) {
	if in := u.in; in.r < in.w {
		n := copy(p, in.buf[in.r:in.w])
		in.r += n
		return n, nil
	}
	return u.in.Src.Read(p)
}

func (u *upgraded) Write(p []byte) (int, error) { return u.dst.Write(p) }

// deadliner is a connection whose reads and writes can be bounded.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// SetReadDeadline bounds the reads of the connection beneath, when it
// takes deadlines (the server's does), so that the protocol spoken over it
// can bound its own waits: a WebSocket's ping timeout, its close
// handshake. Bytes already buffered are read without waiting.
func (u *upgraded) SetReadDeadline(t time.Time) error {
	if d, ok := u.in.Src.(deadliner); ok {
		return d.SetReadDeadline(t)
	}
	return web.ErrUpgrade
}

// SetWriteDeadline bounds the writes of the connection beneath, as
// SetReadDeadline does its reads.
func (u *upgraded) SetWriteDeadline(t time.Time) error {
	if d, ok := u.dst.(deadliner); ok {
		return d.SetWriteDeadline(t)
	}
	return web.ErrUpgrade
}

// Close is a no-op: the server closes the connection once the handler
// returns.
func (u *upgraded) Close() error { return nil }

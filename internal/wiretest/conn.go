package wiretest

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// Timeout bounds every read and every write a Conn makes, so that a server
// that stops talking fails the test instead of hanging it. It bounds each
// call, not the exchange: a long body that keeps arriving is fine.
const Timeout = 5 * time.Second

// Conn is one client connection to a server under test. Its methods fail
// the test (t.Fatal) on an error they do not report, so they must be
// called from the test's goroutine; ReadResponse serves other goroutines.
// The connection closes when the test ends.
//
// In HTTP/2 mode (see H2Mode) the test still writes HTTP/1.1 requests and
// reads Responses, which the Conn carries as HTTP/2 streams.
type Conn struct {
	t  testing.TB
	nc net.Conn // *net.TCPConn or *tls.Conn
	br *bufio.Reader
	h2 *modeConn // nil over HTTP/1.1
}

// Dial connects to addr in the clear.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return NewConn(t, nc)
}

// DialTLS connects to addr and completes a TLS handshake with cfg.
func DialTLS(t testing.TB, addr string, cfg *tls.Config) *Conn {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	tc := tls.Client(raw, cfg)
	c := NewConn(t, tc)
	tc.SetDeadline(time.Now().Add(Timeout))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	tc.SetDeadline(time.Time{})
	return c
}

// NewConn wraps a connection the test made itself; it closes when the
// test ends.
func NewConn(t testing.TB, nc net.Conn) *Conn {
	t.Cleanup(func() { nc.Close() })
	return &Conn{t: t, nc: nc, br: bufio.NewReader(&deadlineConn{Conn: nc})}
}

// StartH2 switches a fresh connection to HTTP/2: h2c with prior knowledge
// in the clear, h2 over a TLS connection, whose ALPN must have agreed on
// it. From then on Send takes HTTP/1.1 requests and sends each as a
// stream, and the reads return each stream's response, in the order the
// requests were sent:
//
//   - Proto is "HTTP/2.0", Reason empty, Chunked false, and Head the
//     decoded header block as "name: value" lines, :status first;
//   - Close says the server sent GOAWAY or ended the connection;
//   - Closed says the stream was reset, or the connection ended, inside
//     the body;
//   - Reader reads the body of the response ReadHead last returned;
//   - ReadAll and ExpectEOF wait for the connection's end.
func (c *Conn) StartH2() {
	c.t.Helper()
	tc, isTLS := c.nc.(*tls.Conn)
	if isTLS && tc.ConnectionState().NegotiatedProtocol != "h2" {
		c.t.Fatalf("ALPN agreed on %q, want h2", tc.ConnectionState().NegotiatedProtocol)
	}
	c.h2 = newModeConn(c.t, c.nc, isTLS)
}

// H2 reports whether the connection speaks HTTP/2.
func (c *Conn) H2() bool { return c.h2 != nil }

// NetConn is the connection beneath: a *net.TCPConn or a *tls.Conn. Bytes
// read from it directly bypass Reader's buffer.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Reader is the buffered reader every Read uses, for a test that reads
// part of a body itself. Each read through it is bounded by Timeout.
// Over HTTP/2 it reads the body of the response ReadHead last returned,
// and ends at the stream's end, or where a reset cut it.
func (c *Conn) Reader() *bufio.Reader {
	c.t.Helper()
	if c.h2 == nil {
		return c.br
	}
	if c.h2.bodyOf == nil {
		c.t.Fatal("wiretest: over HTTP/2, Reader reads the body of a response ReadHead returned")
	}
	return c.h2.body
}

// Send writes raw exactly as given.
func (c *Conn) Send(raw string) {
	c.t.Helper()
	if c.h2 != nil {
		c.h2.send(raw)
		return
	}
	c.nc.SetWriteDeadline(time.Now().Add(Timeout))
	if _, err := io.WriteString(c.nc, raw); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// CloseWrite ends the client's side of the connection, keeping its read
// side: a TCP half-close in the clear, a close_notify alert over TLS.
func (c *Conn) CloseWrite() {
	c.t.Helper()
	if c.h2 != nil {
		c.t.Fatal("wiretest: CloseWrite is HTTP/1 only")
	}
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok {
		c.t.Fatalf("%T cannot half-close", c.nc)
	}
	if err := cw.CloseWrite(); err != nil {
		c.t.Fatalf("half-close: %v", err)
	}
}

// Close closes the connection now, rather than when the test ends.
func (c *Conn) Close() { c.nc.Close() }

// Read reads the next response to a request with method, failing the test
// when no well-framed response arrives. A body cut short by a close is
// reported in Closed, not failed: see ReadWhole.
func (c *Conn) Read(method string) *Response {
	c.t.Helper()
	r, err := c.TryRead(method)
	if err != nil {
		c.t.Fatalf("reading the response to %s: %v (head so far %q)", method, err, r.Head)
	}
	return r
}

// ReadWhole is Read for a response that must arrive complete: a body cut
// short fails the test too.
func (c *Conn) ReadWhole(method string) *Response {
	c.t.Helper()
	r := c.Read(method)
	if r.Closed {
		c.t.Fatalf("the connection closed %d bytes into the body; head:\n%s", len(r.Body), r.Head)
	}
	return r
}

// TryRead is Read that returns the error instead of failing: see
// ReadResponse.
func (c *Conn) TryRead(method string) (*Response, error) {
	if c.h2 != nil {
		return c.h2.read(method)
	}
	return ReadResponse(c.br, method)
}

// ReadHead reads a status line and fields only, leaving the body on the
// connection for the test to read through Reader.
func (c *Conn) ReadHead() *Response {
	c.t.Helper()
	if c.h2 != nil {
		r, s, err := c.h2.readHead()
		if err != nil {
			c.t.Fatalf("reading a response head: %v", err)
		}
		if r.Status >= 200 {
			c.h2.bodyOf = s
			c.h2.body = bufio.NewReader(&modeBody{m: c.h2, s: s})
		}
		return r
	}
	r, err := readHead(c.br)
	if err != nil {
		c.t.Fatalf("reading a response head: %v (so far %q)", err, r.Head)
	}
	r.Close = announcesClose(r)
	return r
}

// ReadAll reads everything until the server closes the connection. A
// reset fails the test, since bytes sent before it may have been lost:
// ExpectEOF is for a close that may come as a reset.
func (c *Conn) ReadAll() []byte {
	c.t.Helper()
	if c.h2 != nil {
		b, err := c.h2.untilEnd()
		if err != nil {
			c.t.Fatalf("reading to the close: %v (got %q)", err, b)
		}
		return b
	}
	b, err := io.ReadAll(c.br)
	if err != nil {
		c.t.Fatalf("reading to the close: %v (got %q)", err, b)
	}
	return b
}

// ExpectEOF checks that the server closes the connection with nothing more
// to say. A reset counts as closed: a server may close with request bytes
// still unread.
func (c *Conn) ExpectEOF() {
	c.t.Helper()
	if c.h2 != nil {
		if b, err := c.h2.untilEnd(); len(b) > 0 || err != nil {
			c.t.Fatalf("got %q and %v before the connection's end, want nothing", b, err)
		}
		return
	}
	b, err := ReadToEOF(c.br)
	if len(b) > 0 {
		c.t.Fatalf("got %q before EOF, want nothing", b)
	}
	if err != nil {
		c.t.Fatalf("got %v, want EOF", err)
	}
}

// ReadToEOF reads r until the peer closes the connection. A reset counts
// as the close, since a server may close with request bytes unread; any
// other error (a timeout) is returned with the bytes read.
func ReadToEOF(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(r)
	if err != nil && isClose(err) {
		err = nil
	}
	return b, err
}

// deadlineConn bounds each Read by Timeout from the call.
type deadlineConn struct{ net.Conn }

func (d *deadlineConn) Read(p []byte) (int, error) {
	d.Conn.SetReadDeadline(time.Now().Add(Timeout))
	return d.Conn.Read(p)
}

// Package h2client is the benchmark tools' HTTP/2 client: one connection,
// GET requests on it, over TLS with ALPN "h2" (RFC 9113 §3.2) or in the
// clear with prior knowledge (§3.3). It wraps golang.org/x/net/http2's
// ClientConn: the tools under bench/ may import x/net, nave itself must
// not (go list -deps ./cmd/nave shows no golang.org/x/net).
package h2client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/http2"
)

// ErrNotH2 is returned by Dial when a TLS server picks a protocol other
// than h2, or none.
var ErrNotH2 = errors.New("h2client: server did not negotiate h2")

// Conn is one HTTP/2 connection. Its requests may run concurrently.
type Conn struct {
	nc     net.Conn
	cc     *http2.ClientConn
	scheme string
	host   string // the :authority of every request
}

// Dial connects to addr (host:port) and sends the connection preface and
// SETTINGS; a non-nil conf speaks TLS with it (NextProtos set to h2 only;
// with no ServerName, addr's host is the one verified). ctx bounds the
// TCP connect and the TLS handshake only.
func Dial(ctx context.Context, addr string, conf *tls.Config) (*Conn, error) {
	d := net.Dialer{KeepAlive: -1} // no TCP keep-alive probes: idle means idle
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if conf != nil {
		conf = conf.Clone()
		conf.NextProtos = []string{http2.NextProtoTLS}
		if conf.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				nc.Close()
				return nil, err
			}
			conf.ServerName = host
		}
		tc := tls.Client(nc, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls: %w", err)
		}
		if p := tc.ConnectionState().NegotiatedProtocol; p != http2.NextProtoTLS {
			nc.Close()
			return nil, fmt.Errorf("%w (ALPN %q)", ErrNotH2, p)
		}
		nc, scheme = tc, "https"
	}
	cc, err := (&http2.Transport{}).NewClientConn(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("h2client: %w", err)
	}
	return &Conn{nc: nc, cc: cc, scheme: scheme, host: addr}, nil
}

// Get sends GET path and reads the whole answer; ctx bounds both. It
// returns the status and the body's length.
func (c *Conn) Get(ctx context.Context, path string) (status, bodyLen int, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.scheme+"://"+c.host+path, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.cc.RoundTrip(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, int(n), err
}

// Close closes the connection at once, whatever is in flight.
func (c *Conn) Close() error { return c.cc.Close() }

// Get sends one GET on a new connection and reads the whole answer, all
// within timeout.
func Get(addr, path string, conf *tls.Config, timeout time.Duration) (status, bodyLen int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := Dial(ctx, addr, conf)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	return c.Get(ctx, path)
}

package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"nave/bench/internal/h2client"
	"nave/bench/internal/servers"
)

// protocol is how the connections speak to the server.
type protocol struct {
	Name string       // for --protocols and the report
	Kind servers.Kind // which configuration of each server speaks it
	TLS  *tls.Config  // nil in the clear
}

// protocolNames lists --protocols' values: HTTP/1.1 in the clear and over
// TLS, HTTP/2 in the clear with prior knowledge, HTTP/2 over TLS.
var protocolNames = []string{"http1", "https1", "h2c", "h2"}

// protocolKind is the server kind that speaks the protocol name.
func protocolKind(name string) (servers.Kind, bool) {
	switch name {
	case "http1":
		return servers.Static, true
	case "https1":
		return servers.StaticTLS, true
	case "h2c":
		return servers.H2C, true
	case "h2":
		return servers.H2, true
	}
	return 0, false
}

// dialFunc opens one connection and has it served once, by deadline.
type dialFunc func(ctx context.Context, deadline time.Time) (conn, error)

// dialer opens connections to addr in p: for HTTP/2, each is a live
// connection past its preface and SETTINGS exchange and one stream.
func (p protocol) dialer(addr string) dialFunc {
	if p.Kind == servers.Static || p.Kind == servers.StaticTLS {
		return func(ctx context.Context, deadline time.Time) (conn, error) {
			d := net.Dialer{Deadline: deadline, KeepAlive: -1}
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			if p.TLS != nil {
				conf := p.TLS.Clone()
				conf.NextProtos = []string{"http/1.1"}
				conf.ServerName, _, _ = net.SplitHostPort(addr)
				tc := tls.Client(c, conf)
				if err := tc.HandshakeContext(ctx); err != nil {
					c.Close()
					return nil, fmt.Errorf("tls: %w", err)
				}
				c = tc
			}
			cn := &http1Conn{c: c, r: bufio.NewReaderSize(c, 1024)}
			if err := cn.roundTrip(deadline); err != nil {
				c.Close()
				return nil, err
			}
			return cn, nil
		}
	}
	return func(ctx context.Context, deadline time.Time) (conn, error) {
		dctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		c, err := h2client.Dial(dctx, addr, p.TLS)
		if err != nil {
			return nil, err
		}
		cn := &h2Conn{c: c}
		if err := cn.roundTrip(deadline); err != nil {
			c.Close()
			return nil, err
		}
		return cn, nil
	}
}

// http1Conn is a keep-alive HTTP/1.1 connection.
type http1Conn struct {
	c net.Conn
	r *bufio.Reader
}

func (cn *http1Conn) roundTrip(deadline time.Time) error {
	if err := cn.c.SetDeadline(deadline); err != nil {
		return err
	}
	if _, err := io.WriteString(cn.c, "GET "+path+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(cn.r, nil)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || n != bodyLen || resp.Close {
		return fmt.Errorf("%w: status %d, %d bytes, close %v", errBadAnswer, resp.StatusCode, n, resp.Close)
	}
	return cn.c.SetDeadline(time.Time{})
}

func (cn *http1Conn) close() { cn.c.Close() }

// h2Conn is an HTTP/2 connection. Between rounds it sends nothing: no PING
// (x/net's ReadIdleTimeout is off), no window updates.
type h2Conn struct{ c *h2client.Conn }

func (cn *h2Conn) roundTrip(deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	status, n, err := cn.c.Get(ctx, path)
	if err != nil {
		return err
	}
	if status != 200 || n != bodyLen {
		return fmt.Errorf("%w: status %d, %d bytes", errBadAnswer, status, n)
	}
	return nil
}

func (cn *h2Conn) close() { cn.c.Close() }

// parseProtocols reads --protocols.
func parseProtocols(list string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if _, ok := protocolKind(name); !ok {
			return nil, fmt.Errorf("unknown protocol %q (have %s)", name, strings.Join(protocolNames, ", "))
		}
		out = append(out, name)
	}
	return out, nil
}

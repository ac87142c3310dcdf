package servers

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"nave/bench/internal/proc"
)

// WaitReady polls addr with GET path until the server answers with any HTTP
// response, the process exits, or timeout passes. A non-nil conf polls over
// TLS with it.
func WaitReady(ctx context.Context, p *proc.Proc, addr, path string, conf *tls.Config, timeout time.Duration) error {
	probe := func() error { _, err := Get(addr, path, nil, conf); return err }
	return WaitReadyFunc(ctx, p, addr, probe, timeout)
}

// WaitReadyFunc calls probe until it succeeds, the process exits, or
// timeout passes: for a server that does not speak HTTP/1.1 (nginx's
// HTTP/2 listener in the clear).
func WaitReadyFunc(ctx context.Context, p *proc.Proc, addr string, probe func() error, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := probe(); err == nil {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("%w: %v", proc.ErrExited, p.ExitErr())
		case <-ctx.Done():
			return fmt.Errorf("servers: not ready at %s after %v", addr, timeout)
		case <-tick.C:
		}
	}
}

// Response is what a check needs from one answer.
type Response struct {
	Status  int
	BodyLen int
	Header  http.Header
	TLS     *tls.ConnectionState // nil in the clear
}

// Get sends one GET on a new connection, with the extra header fields given,
// and reads the whole answer (at most 2 s, the TLS handshake included). A
// non-nil conf speaks TLS with it; with no ServerName, the one verified is
// addr's host.
func Get(addr, path string, header map[string]string, conf *tls.Config) (Response, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return Response{}, err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return Response{}, err
	}
	scheme := "http"
	var tc *tls.Conn
	if conf != nil {
		if conf.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return Response{}, err
			}
			conf = conf.Clone()
			conf.ServerName = host
		}
		tc = tls.Client(c, conf)
		if err := tc.Handshake(); err != nil {
			return Response{}, fmt.Errorf("tls: %w", err)
		}
		c, scheme = tc, "https"
	}
	req, err := http.NewRequest("GET", scheme+"://"+addr+path, nil)
	if err != nil {
		return Response{}, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if err := req.Write(c); err != nil {
		return Response{}, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return Response{}, err
	}
	r := Response{Status: resp.StatusCode, BodyLen: int(n), Header: resp.Header}
	if tc != nil {
		st := tc.ConnectionState()
		r.TLS = &st
	}
	return r, nil
}

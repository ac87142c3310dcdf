package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// A real TLS server on a loopback port for the tests: it handshakes every
// connection, reports the outcome on hs, then echoes what it reads.

// safety bounds how long any one network step may block, so a broken test
// fails instead of hanging. It is not part of any assertion.
const safety = 10 * time.Second

type hsResult struct {
	state tls.ConnectionState
	err   error
}

type tlsServer struct {
	addr string
	hs   chan hsResult
}

func startTLS(t *testing.T, cfg *tls.Config) *tlsServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &tlsServer{addr: ln.Addr().String(), hs: make(chan hsResult, 64)}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tl := tls.NewListener(ln, cfg)
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				srv.serve(c.(*tls.Conn))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return srv
}

func (srv *tlsServer) serve(c *tls.Conn) {
	c.SetDeadline(time.Now().Add(safety))
	err := c.Handshake()
	select {
	case srv.hs <- hsResult{c.ConnectionState(), err}:
	default:
	}
	if err != nil {
		return
	}
	c.SetDeadline(time.Time{})
	io.Copy(c, c)
}

// result returns the server's side of the next handshake.
func (srv *tlsServer) result(t *testing.T) hsResult {
	t.Helper()
	select {
	case r := <-srv.hs:
		return r
	case <-time.After(safety):
		t.Fatal("the server saw no handshake")
		return hsResult{}
	}
}

// dial connects with cfg and completes the handshake on both sides; it
// returns the client conn (closed at cleanup) and both sides' errors.
func (srv *tlsServer) dial(t *testing.T, cfg *tls.Config) (c *tls.Conn, clientErr, serverErr error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	d := &tls.Dialer{Config: cfg}
	nc, err := d.DialContext(ctx, "tcp", srv.addr)
	if err == nil {
		c = nc.(*tls.Conn)
		t.Cleanup(func() { c.Close() })
	}
	var netErr *net.OpError
	if errors.As(err, &netErr) && netErr.Op == "dial" {
		t.Fatalf("dial: %v", err)
	}
	return c, err, srv.result(t).err
}

// served dials with cfg, requires success on both sides, and returns the
// leaf the server presented.
func (srv *tlsServer) served(t *testing.T, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	c, cerr, serr := srv.dial(t, cfg)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake failed: client %v, server %v", cerr, serr)
	}
	return c.ConnectionState().PeerCertificates[0]
}

// insecure is a client config that accepts any certificate, for tests that
// only look at which certificate was served.
func insecure(serverName string) *tls.Config {
	return &tls.Config{ServerName: serverName, InsecureSkipVerify: true}
}

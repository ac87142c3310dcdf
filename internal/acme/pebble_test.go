package acme_test

// The challenge servers the tests against Pebble (nave/internal/acme/pebbletest)
// run on the ports its validator connects to, wired to a Manager the way
// nave's listeners wire it.

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"nave/internal/acme"
)

// serveHTTP01 answers the validator's HTTP-01 requests on the test's port
// with handler until the test ends or the returned func is called.
func serveHTTP01(t *testing.T, port int, handler http.Handler) func() {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop := func() { srv.Close() }
	t.Cleanup(stop)
	return stop
}

// challengeHandler is how a server wires Manager.HTTPChallenge.
func challengeHandler(m *acme.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := m.HTTPChallenge(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	})
}

// serveTLSALPN01 answers the validator's TLS-ALPN-01 handshakes on the
// test's port, as a listener wires Manager.TLSALPNCertificate.
func serveTLSALPN01(t *testing.T, port int, m *acme.Manager) {
	t.Helper()
	cfg := &tls.Config{
		NextProtos: []string{"h2", "http/1.1", acme.ALPNProto},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if cert, ok := m.TLSALPNCertificate(hello); ok {
				return cert, nil
			}
			return nil, errors.New("no certificate")
		},
	}
	ln, err := tls.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.(*tls.Conn).Handshake()
			}()
		}
	}()
}

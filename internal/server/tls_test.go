package server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"nave/internal/certs"
	"nave/internal/web"
)

// testTLS returns a server configuration with a certificate for localhost
// from a fresh local CA, and a client configuration that trusts that CA.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	ca, _, err := certs.OpenLocalCA(t.TempDir() + "/ca")
	if err != nil {
		t.Fatal(err)
	}
	store := certs.NewStore(nil)
	leaf, err := ca.Issue(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put("local", leaf); err != nil {
		t.Fatal(err)
	}
	server, err = certs.ServerConfig(store, certs.Options{NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(ca.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	return server, &tls.Config{RootCAs: roots, ServerName: "localhost", NextProtos: []string{"http/1.1"}}
}

// startTLS serves cfg over TLS on a fresh loopback port until the test ends.
func startTLS(t *testing.T, cfg Config) (*Server, string, *tls.Config) {
	t.Helper()
	return startTLSParking(t, cfg, DefaultParkAfter)
}

// startTLSParking is startTLS with the sweep's period.
func startTLSParking(t *testing.T, cfg Config, parkAfter time.Duration) (*Server, string, *tls.Config) {
	t.Helper()
	stc, ctc := testTLS(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg)
	s.parkAfter = parkAfter
	served := make(chan error, 1)
	go func() { served <- s.ServeTLS(ln, stc) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServeTLS returned %v, want ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String(), ctc
}

func dialTLS(t *testing.T, addr string, tc *tls.Config) *client {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, tc)
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	nc.SetDeadline(time.Now().Add(clientTimeout))
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// tlsEcho answers with what the request says of its scheme and TLS state.
func tlsEcho(w *web.ResponseWriter, r *web.Request) {
	io.Copy(io.Discard, r.Body)
	state := "none"
	if r.TLS != nil {
		state = tls.VersionName(r.TLS.Version) + " " + r.TLS.NegotiatedProtocol + " " + r.TLS.ServerName
	}
	w.WriteString(r.Scheme + " " + state + " " + string(r.Path) + "\n")
}

func TestTLSKeepAliveAndPipelining(t *testing.T) {
	_, addr, ctc := startTLS(t, Config{Handler: web.HandlerFunc(tlsEcho)})
	c := dialTLS(t, addr, ctc)
	c.send("GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if r := c.read("GET"); r.status != 200 || r.body != "https TLS 1.3 http/1.1 localhost /a\n" {
		t.Fatalf("first: got %d %q", r.status, r.body)
	}
	c.send("GET /b HTTP/1.1\r\nHost: localhost\r\n\r\nPOST /c HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc")
	for _, want := range []string{"/b", "/c"} {
		if r := c.read("GET"); r.status != 200 || !strings.HasSuffix(r.body, " "+want+"\n") {
			t.Fatalf("pipelined %s: got %d %q", want, r.status, r.body)
		}
	}
}

func TestTLSLargeBody(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB, through pooled copies
	h := func(w *web.ResponseWriter, r *web.Request) {
		w.Header().Set("Content-Length", "1048576")
		w.ReadFrom(strings.NewReader(big))
	}
	_, addr, ctc := startTLS(t, Config{Handler: web.HandlerFunc(h)})
	c := dialTLS(t, addr, ctc)
	c.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if r := c.read("GET"); r.status != 200 || r.body != big {
		t.Fatalf("got %d and %d bytes, want 200 and %d", r.status, len(r.body), len(big))
	}
}

// TestTLSHandshakeTimeout: a client that starts a handshake and stalls is
// cut off at the handshake timeout, not the idle timeout.
func TestTLSHandshakeTimeout(t *testing.T) {
	_, addr, _ := startTLS(t, Config{Handler: web.HandlerFunc(tlsEcho), HandshakeTimeout: 200 * time.Millisecond})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00}) // a record header, and no more
	nc.SetReadDeadline(time.Now().Add(clientTimeout))
	_, err = io.ReadAll(nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept a stalled handshake open past %v", clientTimeout)
	}
}

// TestTLSPlainClient: plain HTTP to a TLS port fails the handshake and
// closes; the server goes on.
func TestTLSPlainClient(t *testing.T) {
	_, addr, ctc := startTLS(t, Config{Handler: web.HandlerFunc(tlsEcho)})
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	io.ReadAll(c.br)
	d := dialTLS(t, addr, ctc)
	d.send("GET /after HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if r := d.read("GET"); r.status != 200 {
		t.Fatalf("after a plain client: got %d", r.status)
	}
}

// TestTLSShutdown: Shutdown drains a TLS connection with a request in
// flight, and the response says the connection closes.
func TestTLSShutdown(t *testing.T) {
	g := newGate()
	s, addr, ctc := startTLS(t, Config{Handler: g})
	t.Cleanup(g.open)
	c := dialTLS(t, addr, ctc)
	c.send("GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
	<-g.arrived
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(t.Context()) }()
	for !s.shutting.Load() {
		time.Sleep(time.Millisecond) // until the shutdown has begun
	}
	g.open()
	if r := c.read("GET"); r.status != 200 || !r.close {
		t.Fatalf("in flight at shutdown: got %d, close %v; want 200 and a close", r.status, r.close)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/wiretest"
)

// startTLS serves cfg over TLS on a fresh loopback port until the test ends.
func startTLS(t *testing.T, cfg Config) (*Server, string, *tls.Config) {
	t.Helper()
	return startTLSParking(t, cfg, DefaultParkAfter)
}

// startTLSParking is startTLS with the sweep's period.
func startTLSParking(t *testing.T, cfg Config, parkAfter time.Duration) (*Server, string, *tls.Config) {
	t.Helper()
	stc, ctc := wiretest.TLSConfigs(t)
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
	c := wiretest.DialTLS(t, addr, ctc)
	c.Send("GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if r := c.ReadWhole("GET"); r.Status != 200 || string(r.Body) != "https TLS 1.3 http/1.1 localhost /a\n" {
		t.Fatalf("first: got %d %q", r.Status, r.Body)
	}
	c.Send("GET /b HTTP/1.1\r\nHost: localhost\r\n\r\nPOST /c HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc")
	for _, want := range []string{"/b", "/c"} {
		if r := c.ReadWhole("GET"); r.Status != 200 || !strings.HasSuffix(string(r.Body), " "+want+"\n") {
			t.Fatalf("pipelined %s: got %d %q", want, r.Status, r.Body)
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
	c := wiretest.DialTLS(t, addr, ctc)
	c.Send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if r := c.ReadWhole("GET"); r.Status != 200 || string(r.Body) != big {
		t.Fatalf("got %d and %d bytes, want 200 and %d", r.Status, len(r.Body), len(big))
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
	c := wiretest.Dial(t, addr)
	c.Send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	io.ReadAll(c.Reader())
	d := wiretest.DialTLS(t, addr, ctc)
	d.Send("GET /after HTTP/1.1\r\nHost: localhost\r\n\r\n")
	if r := d.ReadWhole("GET"); r.Status != 200 {
		t.Fatalf("after a plain client: got %d", r.Status)
	}
}

// TestTLSShutdown: Shutdown drains a TLS connection with a request in
// flight, and the response says the connection closes.
func TestTLSShutdown(t *testing.T) {
	g := newGate()
	s, addr, ctc := startTLS(t, Config{Handler: g})
	t.Cleanup(g.open)
	c := wiretest.DialTLS(t, addr, ctc)
	c.Send("GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
	<-g.arrived
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(t.Context()) }()
	for !s.shutting.Load() {
		time.Sleep(time.Millisecond) // until the shutdown has begun
	}
	g.open()
	if r := c.ReadWhole("GET"); r.Status != 200 || !r.Close {
		t.Fatalf("in flight at shutdown: got %d, close %v; want 200 and a close", r.Status, r.Close)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestTLSShutdownClosesFreshConnection: a client that completed its
// handshake and sent no request yet is idle: Shutdown closes it at once
// rather than wait for it until its context ends.
func TestTLSShutdownClosesFreshConnection(t *testing.T) {
	s, addr, ctc := startTLS(t, Config{Handler: web.HandlerFunc(tlsEcho)})
	c := wiretest.DialTLS(t, addr, ctc)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown returned %v, want nil (the fresh connection closed at once)", err)
	}
	c.ExpectEOF()
}

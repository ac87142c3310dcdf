package wiretest_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"

	"golang.org/x/net/http2"

	"nave/internal/server"
	"nave/internal/web"
	"nave/internal/wiretest"
)

// echo answers with the request's method and path, or with its body when
// it has one.
func echo(w *web.ResponseWriter, r *web.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	w.Header().Set("X-Path", string(r.Path))
	if len(body) == 0 {
		body = append(append(r.Method, ' '), r.Path...)
	}
	w.Write(body)
}

// serveH2 runs a nave server for the test: in the clear (h2c), or over TLS
// offering h2 by ALPN. It returns the address and the client's TLS
// configuration (nil in the clear).
func serveH2(t *testing.T, useTLS bool) (string, *tls.Config) {
	t.Helper()
	s := server.New(server.Config{Handler: web.HandlerFunc(echo)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	var client *tls.Config
	if useTLS {
		var srv *tls.Config
		srv, client = wiretest.TLSConfigs(t)
		srv = srv.Clone()
		srv.NextProtos = []string{"h2", "http/1.1"}
		go func() { served <- s.ServeTLS(ln, srv) }()
	} else {
		go func() { served <- s.Serve(ln) }()
	}
	t.Cleanup(func() {
		s.Close()
		<-served
	})
	return ln.Addr().String(), client
}

func TestH2ConnDo(t *testing.T) {
	for _, mode := range []struct {
		name string
		tls  bool
	}{{"h2c", false}, {"h2_tls", true}} {
		t.Run(mode.name, func(t *testing.T) {
			addr, client := serveH2(t, mode.tls)
			c := wiretest.DialH2(t, addr, client)
			if got := c.Settings[http2.SettingMaxConcurrentStreams]; got == 0 {
				t.Errorf("server SETTINGS_MAX_CONCURRENT_STREAMS: got %d, want it advertised", got)
			}
			r, err := c.Do("GET", "/hello", nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 || string(r.Body) != "GET /hello" || r.Header.Get("X-Path") != "/hello" {
				t.Errorf("got %d %q X-Path %q, want 200 %q /hello", r.Status, r.Body, r.Header.Get("X-Path"), "GET /hello")
			}
			// A body larger than both windows: Do must wait for the
			// server's WINDOW_UPDATEs, and return its own.
			big := bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16)
			r, err = c.Do("POST", "/echo", big)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 || !bytes.Equal(r.Body, big) {
				t.Errorf("got %d and %d bytes (equal: %v), want 200 and the %d bytes sent", r.Status, len(r.Body), bytes.Equal(r.Body, big), len(big))
			}
		})
	}
}

func TestH2ConnExpect(t *testing.T) {
	addr, _ := serveH2(t, false)
	c := wiretest.DialH2(t, addr, nil)
	// A stream reset by the server: WINDOW_UPDATE of 0 on an open stream
	// is a stream error (RFC 9113 §6.9).
	id := c.NextStream()
	c.WriteHeaders(id, false, c.RequestFields("POST", "/")...)
	if err := c.Framer().WriteWindowUpdate(id, 0); err != nil {
		t.Fatal(err)
	}
	c.ExpectRST(id, http2.ErrCodeProtocol)
	// Do reports a reset as a StreamError: a :path not starting with a
	// slash is malformed (§8.3.1).
	_, err := c.Do("GET", "no-slash", nil)
	var se http2.StreamError
	if !errors.As(err, &se) || se.Code != http2.ErrCodeProtocol {
		t.Fatalf("got %v, want a StreamError PROTOCOL_ERROR", err)
	}
	if r, err := c.Do("GET", "/after", nil); err != nil || r.Status != 200 {
		t.Fatalf("got %v, %v after a reset stream, want 200", r, err)
	}
	// A connection error: PING on a stream.
	if err := c.Framer().WriteRawFrame(http2.FramePing, 0, 1, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	c.ExpectGoAway(http2.ErrCodeProtocol)
	c.ExpectClosed()
}

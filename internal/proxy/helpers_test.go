package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	naveserver "nave/internal/server"
	"nave/internal/web"
	"nave/internal/wiretest"
)

// serve runs h on a nave server on a loopback port until the test ends.
func serve(t testing.TB, h web.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := naveserver.New(naveserver.Config{Handler: h})
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// serveCounting is serve, counting the upstream's connections.
func serveCounting(t testing.TB, h web.Handler) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := naveserver.New(naveserver.Config{Handler: h})
	go srv.Serve(cl)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), &cl.n
}

// newProxy makes a proxy handler for cfg, closed when the test ends, and
// serves it.
func newProxy(t testing.TB, cfg Config) (*Handler, string) {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, serve(t, p)
}

func servers(addrs ...string) []Server {
	var s []Server
	for _, a := range addrs {
		s = append(s, Server{Addr: a})
	}
	return s
}

// rawUpstream accepts connections and hands each to fn, as a faulty
// server does.
func rawUpstream(t testing.TB, fn func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
				fn(c, bufio.NewReader(c))
			}()
		}
	}()
	return ln.Addr().String()
}

// readRequest reads one request (head and body) off br, as a raw upstream.
func readRequest(br *bufio.Reader) (*http.Request, []byte, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(req.Body)
	return req, body, err
}

// closedAddr is an address nothing listens on.
func closedAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// get sends one raw request and reads its response.
func get(t testing.TB, addr, raw, method string) *wiretest.Response {
	t.Helper()
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send(raw)
	return c.Read(method)
}

// echo answers with the request's head fields as "Name: value" lines and
// its body after a blank line.
var echo = web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
	var b strings.Builder
	b.WriteString(string(r.Method) + " " + string(r.Target) + "\n")
	for name, value := range r.Header.All() {
		b.WriteString(string(name) + ": " + string(value) + "\n")
	}
	b.WriteString("\n")
	body, _ := io.ReadAll(r.Body)
	b.Write(body)
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Upstream", "yes")
	w.WriteString(b.String())
})

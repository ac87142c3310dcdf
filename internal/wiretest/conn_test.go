package wiretest

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
)

// fixed is a Servable that answers each connection's first request with
// one fixed response and closes.
type fixed struct {
	mu sync.Mutex
	ln net.Listener
}

const fixedResponse = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"

func (f *fixed) Serve(ln net.Listener) error { return f.ServeTLS(ln, nil) }

func (f *fixed) ServeTLS(ln net.Listener, cfg *tls.Config) error {
	f.mu.Lock()
	f.ln = ln
	f.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		if cfg != nil {
			nc = tls.Server(nc, cfg)
		}
		go func() {
			defer nc.Close()
			buf := make([]byte, 1024)
			for n := 0; n < 4 || string(buf[n-4:n]) != "\r\n\r\n"; {
				m, err := nc.Read(buf[n:])
				if err != nil {
					return
				}
				n += m
			}
			io.WriteString(nc, fixedResponse)
		}()
	}
}

func (f *fixed) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ln.Close()
}

func TestServeBothModes(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		srv := ServeMode(t, &fixed{}, useTLS)
		c := srv.Dial(t)
		c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		r := c.ReadWhole("GET")
		if r.Status != 200 || string(r.Body) != "ok" || !r.Close {
			t.Errorf("tls=%v: got %d %q close=%v, want 200 %q close=true", useTLS, r.Status, r.Body, r.Close, "ok")
		}
		c.ExpectEOF()
		if got := srv.Client != nil; got != useTLS {
			t.Errorf("tls=%v: Client set %v", useTLS, got)
		}
	}
}

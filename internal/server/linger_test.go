package server

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/wiretest"
)

// refuseUnread answers 413 without reading the request body.
func refuseUnread(w *web.ResponseWriter, r *web.Request) {
	w.WriteHeader(413)
	w.WriteString("too large\n")
}

// TestLingeringCloseKeepsResponse: the handler refuses a large upload
// without reading it. The client sends its whole body before reading, as
// many do; the 413 must reach it, not be destroyed by a reset from a close
// with unread input.
func TestLingeringCloseKeepsResponse(t *testing.T) {
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(refuseUnread)})
	for i := range 5 {
		c := wiretest.Dial(t, addr)
		c.Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n")
		sent := make(chan error, 1)
		go func() {
			_, err := c.NetConn().Write(bytes.Repeat([]byte("x"), 8<<20))
			sent <- err
		}()
		// Let the body race the server's close.
		time.Sleep(20 * time.Millisecond)
		r := c.ReadWhole("POST")
		if r.Status != 413 || !r.Close {
			t.Fatalf("try %d: status %d close %v, want 413 with Connection: close", i, r.Status, r.Close)
		}
		// The server reads the rest of the body and drops it, then sees
		// our FIN and ends with its own: no reset anywhere.
		if err := <-sent; err != nil {
			t.Fatalf("try %d: sending the body: %v", i, err)
		}
		c.NetConn().(*net.TCPConn).CloseWrite()
		if rest, err := io.ReadAll(c.Reader()); err != nil || len(rest) > 0 {
			t.Fatalf("try %d: after the response got %q, %v; want a clean EOF", i, rest, err)
		}
	}
}

// TestUnreadLargeBodyAnnouncesClose: a body too large to drain gets
// "Connection: close" on the response that precedes the close.
func TestUnreadLargeBodyAnnouncesClose(t *testing.T) {
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		w.WriteString("ignored your body\n")
	})})
	c := wiretest.Dial(t, addr)
	c.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n")
	go c.NetConn().Write(make([]byte, 1<<20))
	r := c.ReadWhole("POST")
	if r.Status != 200 || !r.Close {
		t.Fatalf("status %d close %v, want 200 with Connection: close", r.Status, r.Close)
	}
	// A small unread body is drained instead, and the connection kept.
	c2 := wiretest.Dial(t, addr)
	c2.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	if r := c2.ReadWhole("POST"); r.Close {
		t.Fatal("a 5-byte unread body closed the connection")
	}
	c2.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c2.ReadWhole("GET"); r.Status != 200 {
		t.Fatalf("second request: status %d", r.Status)
	}
}

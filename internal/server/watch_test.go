package server

import (
	"io"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/wiretest"
)

// goneHandler reads the body, then reports on seen whether the client
// left within wait, as a gateway whose app runs on would.
func goneHandler(seen chan<- string, wait time.Duration) web.HandlerFunc {
	return func(w *web.ResponseWriter, r *web.Request) {
		io.Copy(io.Discard, r.Body)
		g := w.Gone()
		if g == nil {
			seen <- "nil"
			return
		}
		select {
		case <-g:
			seen <- "gone"
		case <-time.After(wait):
			seen <- "here"
			w.WriteString("ok")
		}
	}
}

func TestGoneWhenClientCloses(t *testing.T) {
	for _, tc := range []struct{ name, raw string }{
		{"no_body", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"body_read", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := make(chan string, 1)
			_, addr := startServer(t, Config{Handler: goneHandler(seen, wiretest.Timeout)})
			c := wiretest.Dial(t, addr)
			c.Send(tc.raw)
			time.Sleep(50 * time.Millisecond) // the handler is waiting
			c.Close()
			if got := <-seen; got != "gone" {
				t.Errorf("got %q, want gone", got)
			}
		})
	}
}

// TestGoneWatchKeepsPipelinedRequest: the watcher consumes nothing, and a
// client that stays is not taken for gone even with a request waiting
// behind; the next request is read with its proper deadline.
func TestGoneWatchKeepsPipelinedRequest(t *testing.T) {
	seen := make(chan string, 2)
	_, addr := startServer(t, Config{Handler: goneHandler(seen, 100*time.Millisecond)})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
	for i := range 2 {
		if r := c.Read("GET"); r.Status != 200 || string(r.Body) != "ok" {
			t.Fatalf("response %d: got %d %q, want 200 ok", i, r.Status, r.Body)
		}
		if got := <-seen; got != "here" {
			t.Errorf("request %d: got %q, want here", i, got)
		}
	}
}

// TestGoneNilBeforeBodyEnd: HTTP/1 watches only once the body is read.
func TestGoneNilBeforeBodyEnd(t *testing.T) {
	seen := make(chan bool, 1)
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		seen <- w.Gone() == nil
	})})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n")
	if !<-seen {
		t.Error("Gone was not nil with the body unread")
	}
}

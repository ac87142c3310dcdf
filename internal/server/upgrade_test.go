package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/wiretest"
)

// lineEcho upgrades and then answers each line with it upper-cased until
// the client says "bye".
func lineEcho(w *web.ResponseWriter, r *web.Request) {
	w.Header().Set("Upgrade", "lines")
	w.Header().Set("Connection", "Upgrade")
	rw, err := w.Upgrade()
	if err != nil {
		web.Error(w, 400, "cannot upgrade")
		return
	}
	defer rw.Close()
	br := bufio.NewReader(rw)
	for {
		line, err := br.ReadString('\n')
		if err != nil || line == "bye\n" {
			return
		}
		io.WriteString(rw, strings.ToUpper(line))
	}
}

// TestUpgradeOverSocket: after 101 the connection is a byte stream both
// ways, over a real socket in the clear and over TLS, and it closes when
// the handler returns.
func TestUpgradeOverSocket(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		var c *wiretest.Conn
		if useTLS {
			_, addr, ctc := startTLS(t, Config{Handler: web.HandlerFunc(lineEcho)})
			c = wiretest.DialTLS(t, addr, ctc)
		} else {
			_, addr := startServer(t, Config{Handler: web.HandlerFunc(lineEcho)})
			c = wiretest.Dial(t, addr)
		}
		c.Send("GET /lines HTTP/1.1\r\nHost: x\r\nUpgrade: lines\r\nConnection: Upgrade\r\n\r\nfirst\n")
		r := c.Read("GET")
		if r.Status != 101 || r.Get("Upgrade") != "lines" || r.Get("Connection") != "Upgrade" {
			t.Fatalf("TLS %v: got %d %q", useTLS, r.Status, r.Head)
		}
		br := c.Reader()
		for _, line := range []string{"first\n", "second\n"} {
			if line != "first\n" {
				c.Send(line)
			}
			got, err := br.ReadString('\n')
			if err != nil || got != strings.ToUpper(line) {
				t.Fatalf("TLS %v: echo of %q: %q, %v", useTLS, line, got, err)
			}
		}
		c.Send("bye\n")
		c.ExpectEOF()
	}
}

// TestUpgradeDeadlines: the upgraded stream takes read and write
// deadlines, so that the protocol over it bounds its own waits (a
// WebSocket's ping timeout): a read past its deadline fails with
// os.ErrDeadlineExceeded, and the stream still writes afterwards.
func TestUpgradeDeadlines(t *testing.T) {
	h := web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		w.Header().Set("Upgrade", "lines")
		w.Header().Set("Connection", "Upgrade")
		rw, err := w.Upgrade()
		if err != nil {
			return
		}
		dl, ok := rw.(interface {
			SetReadDeadline(time.Time) error
			SetWriteDeadline(time.Time) error
		})
		if !ok {
			io.WriteString(rw, "no deadlines\n")
			return
		}
		dl.SetWriteDeadline(time.Now().Add(wiretest.Timeout))
		dl.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err = rw.Read(make([]byte, 1))
		io.WriteString(rw, fmt.Sprintf("%v\n", errors.Is(err, os.ErrDeadlineExceeded)))
	})
	_, addr := startServer(t, Config{Handler: h})
	c := wiretest.Dial(t, addr)
	c.Send("GET /lines HTTP/1.1\r\nHost: x\r\nUpgrade: lines\r\nConnection: Upgrade\r\n\r\n")
	if r := c.Read("GET"); r.Status != 101 {
		t.Fatalf("got %q", r.Head)
	}
	got, err := c.Reader().ReadString('\n')
	if err != nil || got != "true\n" {
		t.Fatalf("got %q, %v; want the read to time out", got, err)
	}
	c.ExpectEOF()
}

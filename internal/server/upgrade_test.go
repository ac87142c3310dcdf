package server

import (
	"bufio"
	"io"
	"strings"
	"testing"

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

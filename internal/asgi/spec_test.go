package asgi_test

// The real apps wrapped in testdata/apps/speccheck.py, a middleware that
// checks every scope and message nave gives them against the ASGI spec,
// and that send() on a closed connection raises an OSError subclass:
// over HTTP/1.1 and HTTP/2, in the clear and over TLS, WebSockets
// included. Any breach fails the test.

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"nave/internal/asgi"
	"nave/internal/wiretest"
)

// specMode is one way a client reaches the server.
type specMode struct {
	name    string
	tls, h2 bool
}

var specModes = []specMode{{"h1", false, false}, {"h2c", false, true}, {"h1-tls", true, false}, {"h2-tls", true, true}}

// wsScenario is an app's WebSocket echo: say gets echo back; bye makes
// the app close with code.
type wsScenario struct {
	path, say, echo, bye string
	code                 uint16
}

type specApp struct {
	name, factory, pkg string // pkg: the Debian python3- package the app needs, if any
	http               func(t *testing.T, srv *wiretest.Server)
	ws                 wsScenario // none when path is ""
	edges              string     // the path specEdges sends to; "" is /items
	// unheard are the events the app never hears: Django 3.2's handler
	// speaks HTTP alone (no lifespan, no WebSocket), and never receives
	// after the body.
	unheard []string
}

var specApps = []specApp{
	{"fastapi", "fastapi", "fastapi", func(t *testing.T, srv *wiretest.Server) {
		fastAPIChecks(t, srv)
		abandonStream(t, srv, "/stream?name=gone")
	}, wsScenario{"/ws", "hi", "echo: hi", "bye", 4100}, "", nil},
	{"starlette", "starlette", "starlette", func(t *testing.T, srv *wiretest.Server) {
		starletteChecks(t, srv)
		abandonStream(t, srv, "/hold")
	},
		wsScenario{"/ws", `{"n": 1}`, `{"echo": {"n": 1}, "count": 1}`, `{"say": "bye"}`, 4100}, "", nil},
	{"quart", "quart", "quart", func(t *testing.T, srv *wiretest.Server) {
		quartChecks(t, srv)
		abandonStream(t, srv, "/stream?name=gone")
	}, wsScenario{"/ws", "hi", "hi", "close", 4002}, "", nil},
	{"django", "django", "django", djangoChecks, wsScenario{},
		"", []string{"scope websocket", "websocket.disconnect", "http.disconnect", "lifespan.shutdown"}},
	{"extensions", "gateway", "", extensionChecks, wsScenario{}, "/scope", []string{"scope websocket", "websocket.disconnect"}},
}

// extensionChecks has gateway.py's raw ASGI app use the extensions,
// whose ends the checker probes too, and hear a client leave.
func extensionChecks(t *testing.T, srv *wiretest.Server) {
	if r := get(t, srv, "/pathsend?hello.txt"); r.Status != 200 || string(r.Body) != "a file sent by path\n" {
		t.Errorf("pathsend: got %d %q", r.Status, r.Body)
	}
	if r := roundTrip(t, srv, "GET /trailers HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n"); r.Status != 200 ||
		r.Trailer.Get("X-Count") != "2" {
		t.Errorf("trailers: got %q, trailers %v", r.Body, r.Trailer)
	}
	c := srv.Dial(t)
	c.Send("GET /early-hint HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.ReadHead(); r.Status != 103 {
		t.Errorf("early hint: got %q, want a 103 first", r.Head)
	}
	if r := c.ReadWhole("GET"); r.Status != 200 || string(r.Body) != "ok" {
		t.Errorf("early hint: got %d %q", r.Status, r.Body)
	}
	c.Close()
	if r := get(t, srv, "/after-end?spec"); r.Status != 200 {
		t.Errorf("after-end: got %d", r.Status)
	}
	if srv.H2 {
		// RFC 9113 §8.3.1 lets a request carry host beside :authority (the
		// same: a different one is malformed); the scope has one host,
		// first (www.rst), which the checker checks.
		hc := wiretest.DialH2(t, srv.Addr, srv.Client)
		resp, err := hc.Do("GET", "/scope", nil, "accept", "*/*", "host", srv.Addr, "cookie", "a=1", "cookie", "b=2")
		if err != nil || resp.Status != 200 || strings.Count(string(resp.Body), `["host", `) != 1 {
			t.Errorf("host beside :authority: %v, %d %s", err, resp.Status, resp.Body)
		}
		hc.Close()
	}
	c = srv.Dial(t)
	c.Send("GET /wait-disconnect?specwd HTTP/1.1\r\nHost: x\r\n\r\n")
	waitResult(t, srv, "specwd", equals("waiting"))
	c.Close()
	waitResult(t, srv, "specwd", equals("http.disconnect ClientDisconnected True"))
}

func TestSpecCheck(t *testing.T) {
	for _, a := range specApps {
		t.Run(a.name, func(t *testing.T) {
			if a.pkg != "" {
				needPackage(t, "python3-"+a.pkg, "/usr/lib/python3/dist-packages/"+a.pkg)
			}
			mount, h, log, logger := startApp(t, asgi.Config{App: "speccheck:" + a.factory + "()"})
			stopAfter(t, h)
			_, clear := listenFor(t, mount, logger, nil)
			serverConf, clientConf := wiretest.TLSConfigs(t)
			serverConf.NextProtos = []string{"h2", "http/1.1"}
			_, secure := listenFor(t, mount, logger, serverConf)
			for _, m := range specModes {
				t.Run(m.name, func(t *testing.T) {
					srv := &wiretest.Server{Addr: clear, H2: m.h2}
					scheme, version := "http", "1.1"
					if m.tls {
						srv.Addr, srv.Client, scheme = secure, clientConf.Clone(), "https"
						srv.Client.NextProtos = []string{"http/1.1"}
						if m.h2 {
							srv.Client.NextProtos = []string{"h2"}
						}
					}
					if m.h2 {
						version = "2"
					}
					// Under /mnt: root_path is "/mnt" for the checker's own
					// requests, "" for the app's.
					get(t, srv, "/mnt/__speccheck/expect?scheme="+scheme+"&http_version="+version)
					a.http(t, srv)
					specEdges(t, srv, cmp.Or(a.edges, "/items"))
					if a.ws.path != "" {
						wsSpec(t, srv, a.ws)
					}
					specReport(t, srv, a.unheard)
				})
			}
			// The lifespan's shutdown, after the last report: the checker
			// says on stderr what it saw.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := h.Stop(ctx); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if strings.Contains(log.String(), "speccheck: breach") {
				t.Errorf("the checker saw a breach at the end:\n%s", log)
			}
			if !slices.Contains(a.unheard, "lifespan.shutdown") && !strings.Contains(log.String(), "speccheck: lifespan.shutdown received") {
				t.Errorf("the checker did not see the lifespan's shutdown:\n%s", log)
			}
		})
	}
}

// TestSpecCheckSelfTest: the checker records each breach of a fake
// server that breaks the spec in known ways, and none of one that keeps
// it, so that TestSpecCheck's silence means something.
func TestSpecCheckSelfTest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python")
	}
	var stderr strings.Builder
	cmd := exec.Command(python, "testdata/speccheck_selftest.py")
	cmd.Stderr = &stderr // the breaches it provoked, as the checker logs them
	out, err := cmd.Output()
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("the checker's self-test: %v\n%s\n%s", err, out, stderr.String())
	}
	if !strings.Contains(stderr.String(), "speccheck: breach: http /x: method 'get'") {
		t.Errorf("the checker's breaches are not on stderr:\n%s", stderr.String())
	}
}

// specEdges sends requests of less usual shapes, for the checker to see
// their scopes and bodies: escapes in the path and query, repeated
// fields, a chunked body, a body behind Expect: 100-continue, HEAD.
func specEdges(t *testing.T, srv *wiretest.Server, path string) {
	t.Helper()
	reqs := []string{
		"GET " + path + "/caf%C3%A9%20x%2Fy%25?q=a+b%26c&r=%E2%9C%93 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET " + path + "/1 HTTP/1.1\r\nHost: x\r\nX-Repeat: one\r\nAccept: a\r\nX-Repeat: two\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
		"POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"6\r\n{\"name\"\r\n11\r\n: \"x\", \"price\": 1}\r\n0\r\n\r\n",
		"POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 25\r\n\r\n" +
			`{"name": "y", "price": 2}`,
		"HEAD " + path + "/2 HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for _, raw := range reqs {
		r := roundTrip(t, srv, raw)
		if r.Status >= 500 {
			t.Errorf("%q: got %d", raw, r.Status)
		}
	}
}

// abandonStream reads the first part of a stream that waits to be
// released, and leaves: the app hears http.disconnect.
func abandonStream(t *testing.T, srv *wiretest.Server, target string) {
	t.Helper()
	c := srv.Dial(t)
	c.Send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.ReadHead(); r.Status != 200 {
		t.Fatalf("GET %s: got %q", target, r.Head)
	}
	if b, err := c.Reader().ReadString('\n'); err != nil {
		t.Fatalf("GET %s: got %q, %v", target, b, err)
	}
	c.Close()
}

// specReport waits until the checker has seen each kind of event the
// run causes (the scopes, a disconnect of each kind, its probes of send()
// on closed connections) but those unheard, then fails on any breach it
// recorded.
func specReport(t *testing.T, srv *wiretest.Server, unheard []string) {
	t.Helper()
	want := map[string]int{"scope http": 5, "scope websocket": 2, "received": 2, "sent": 10,
		"http.disconnect": 1, "websocket.disconnect": 1, "probes": 5}
	for _, k := range unheard {
		delete(want, k)
	}
	var report struct {
		Breaches []string
		Counts   map[string]int
	}
	deadline := time.Now().Add(wiretest.Timeout)
	for {
		r := get(t, srv, "/mnt/__speccheck")
		if err := json.Unmarshal(r.Body, &report); err != nil {
			t.Fatalf("the checker's report: %v in %q", err, r.Body)
		}
		short := ""
		for k, n := range want {
			if report.Counts[k] < n {
				short += fmt.Sprintf(" %s %d (want %d)", k, report.Counts[k], n)
			}
		}
		if len(report.Breaches) > 0 {
			t.Fatalf("the app saw nave break the ASGI spec:\n%s", strings.Join(report.Breaches, "\n"))
		}
		if short == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the checker saw too little:%s; counts %v", short, report.Counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wsSpec runs s on two WebSockets: one the client closes after an echo,
// one the app closes; over HTTP/2 with extended CONNECT (RFC 8441).
func wsSpec(t *testing.T, srv *wiretest.Server, s wsScenario) {
	t.Helper()
	if srv.H2 {
		wsSpecH2(t, srv, s)
		return
	}
	for _, clientCloses := range []bool{true, false} {
		var c *wiretest.Conn
		if srv.Client != nil {
			c = wiretest.DialTLS(t, srv.Addr, srv.Client)
		} else {
			c = wiretest.Dial(t, srv.Addr)
		}
		c.Send(wsHandshake(s.path))
		if r := c.ReadHead(); r.Status != 101 {
			t.Fatalf("handshake %s: got %q", s.path, r.Head)
		}
		wsConverse(t, s, clientCloses, func(b0 byte, p []byte) { c.Send(string(wsFrame(b0, p))) },
			func() (byte, []byte) { return readWSFrame(t, c.Reader()) })
		c.Close()
	}
}

// wsConverse has s's echo, then closes: the client with 4001, or the app
// with its code, the client answering.
func wsConverse(t *testing.T, s wsScenario, clientCloses bool, send func(byte, []byte), read func() (byte, []byte)) {
	t.Helper()
	send(0x81, []byte(s.say))
	if b0, p := read(); b0 != 0x81 || string(p) != s.echo {
		t.Fatalf("echo: got %#x %q, want %q", b0, p, s.echo)
	}
	if clientCloses {
		send(0x88, []byte{0x0f, 0xa1})
		if b0, p := read(); b0 != 0x88 || len(p) < 2 || binary.BigEndian.Uint16(p) != 4001 {
			t.Fatalf("close: got %#x %q, want a close 4001 echoed", b0, p)
		}
		return
	}
	send(0x81, []byte(s.bye))
	b0, p := read()
	if b0 != 0x88 || len(p) < 2 || binary.BigEndian.Uint16(p) != s.code {
		t.Fatalf("the app's close: got %#x %q, want a close %d", b0, p, s.code)
	}
	send(0x88, p[:2])
}

// wsSpecH2 is wsSpec over HTTP/2: each WebSocket a stream of its own
// connection.
func wsSpecH2(t *testing.T, srv *wiretest.Server, s wsScenario) {
	t.Helper()
	for _, clientCloses := range []bool{true, false} {
		c := wiretest.DialH2(t, srv.Addr, srv.Client)
		id := c.NextStream()
		c.WriteHeaders(id, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", map[bool]string{true: "https", false: "http"}[srv.Client != nil],
			":path", s.path, ":authority", "localhost", "sec-websocket-version", "13")
		in := h2WSReader{c: c, in: map[uint32][]byte{}}
		wsConverse(t, s, clientCloses,
			func(b0 byte, p []byte) {
				c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, false, wsFrame(b0, p)) })
			},
			func() (byte, []byte) { return in.next(t, id) })
		c.Close()
	}
}

// h2WSReader reads WebSocket frames (of payloads under 126 bytes) off
// the streams of an HTTP/2 connection, failing on a response other than
// 200.
type h2WSReader struct {
	c     *wiretest.H2Conn
	in    map[uint32][]byte // bytes read per stream, not yet taken
	heads int               // response heads read
}

func (h *h2WSReader) next(t *testing.T, id uint32) (byte, []byte) {
	t.Helper()
	for {
		b := h.in[id]
		if len(b) >= 2 && b[1]&0x7f < 126 && len(b) >= 2+int(b[1]&0x7f) {
			n := int(b[1] & 0x7f)
			b0, p := b[0], append([]byte(nil), b[2:2+n]...)
			h.in[id] = b[2+n:]
			return b0, p
		}
		f, err := h.c.ReadFrame()
		if err != nil {
			t.Fatalf("reading: %v", err)
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			for _, hf := range f.Fields {
				if hf.Name == ":status" && hf.Value != "200" {
					t.Fatalf("stream %d: status %s, want 200", f.StreamID, hf.Value)
				}
			}
			h.heads++
		case *http2.DataFrame:
			h.in[f.StreamID] = append(h.in[f.StreamID], f.Data()...)
		}
	}
}

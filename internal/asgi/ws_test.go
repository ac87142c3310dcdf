package asgi_test

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nave/internal/asgi"
	"nave/internal/server"
	"nave/internal/web"
	"nave/internal/wiretest"
)

// serveWS starts a worker for cfg (App in testdata/apps) and a server in
// front of it in the clear, HTTP/1.1 and h2c both, whatever mode the
// environment asks for: each test picks its protocol itself.
func serveWS(t *testing.T, cfg asgi.Config) (addr string, log *syncLog) {
	t.Helper()
	mount, h, log, logger := startApp(t, cfg)
	stopAfter(t, h)
	_, addr = listenFor(t, mount, logger, nil)
	return addr, log
}

// stopAfter stops h's workers when the test ends, in a second: the apps
// still running (the one that never receives) are cancelled after a
// second, not five. Registered after startApp's Stop, it runs before it.
func stopAfter(t *testing.T, h *asgi.Handler) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		h.Stop(ctx)
	})
}

// listenFor serves handler on a new loopback listener, over TLS when
// conf is not nil, until the test ends.
func listenFor(t *testing.T, handler web.Handler, logger *slog.Logger, conf *tls.Config) (*server.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Config{Handler: handler, Logger: logger})
	if conf != nil {
		go s.ServeTLS(ln, conf)
	} else {
		go s.Serve(ln)
	}
	t.Cleanup(func() { s.Close() })
	return s, ln.Addr().String()
}

// result reads RESULTS[key] from the ws_apps app, waiting until match.
func result(t *testing.T, addr, key string, match func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(wiretest.Timeout)
	for {
		c := wiretest.Dial(t, addr)
		c.Send("GET /result?" + key + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		got := string(c.Read("GET").Body)
		c.Close()
		if match(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("result %s: got %q, still not what the test waits for", key, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runClient runs a scenario of testdata/ws_client.py and compares what
// it printed.
func runClient(t *testing.T, addr, scenario string, want ...string) {
	t.Helper()
	if err := exec.Command(python, "-c", "import websockets").Run(); err != nil {
		t.Fatal("needs Debian's python3-websockets (scripts/deps.sh installs it)")
	}
	cmd := exec.Command(python, "testdata/ws_client.py", scenario, "ws://"+addr)
	cmd.WaitDelay = 20 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client %s failed: %v\n%s", scenario, err, out)
	}
	if got, w := string(out), strings.Join(want, "\n")+"\n"; got != w {
		t.Fatalf("client %s printed\n%s\nwant\n%s", scenario, got, w)
	}
}

func TestWSPythonClient(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app"})
	runClient(t, addr, "basic",
		"subprotocol chat",
		"x-ws yes",
		"extensions permessage-deflate",
		"text héllo",
		"bytes 00ff",
		"3MiB True",
		"scope websocket ws 1.1 /mnt/echo /mnt basic ['chat', 'other'] ['websocket.http.response'] 3.0",
		"closed 4000")
	result(t, addr, "basic", equals(`{"code": 4000, "reason": "bye", "send": "ClientDisconnected"}`))
}

func TestWSCloseCodes(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app"})
	runClient(t, addr, "app_close", "closed 4321 app says bye")
	// The client answers the app's close with its code: the app hears it.
	result(t, addr, "appclose", equals(`{"code": 4321, "reason": "app says bye", "send": "ClientDisconnected"}`))
}

// TestWSSendAfterClose: after the app's websocket.close the connection
// is closed: send() raises an OSError subclass (spec 2.4).
func TestWSSendAfterClose(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app"})
	c := wsDial(t, addr, "/echo?cas")
	c.Send(string(wsFrame(0x81, []byte("send after close"))))
	if b0, p := readWSFrame(t, c.Reader()); b0 != 0x88 || len(p) < 2 || binary.BigEndian.Uint16(p) != 4003 {
		t.Fatalf("got frame %#x %q, want a close 4003", b0, p)
	}
	c.Send(string(wsFrame(0x88, []byte{0x0f, 0xa3})))
	result(t, addr, "cas_after", equals(`"ConnectionClosed True"`))
}

func TestWSTooBig(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app"})
	runClient(t, addr, "too_big", "closed 1009")
	result(t, addr, "toobig", func(s string) bool { return strings.HasPrefix(s, `{"code": 1009`) })
}

func TestWSAppRaises(t *testing.T) {
	addr, log := serveWS(t, asgi.Config{App: "ws_apps:app"})
	runClient(t, addr, "app_raises", "closed 1011")
	deadline := time.Now().Add(wiretest.Timeout)
	for !strings.Contains(log.String(), "the app failed on purpose") {
		if time.Now().After(deadline) {
			t.Fatal("the app's error is not in the log")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWSDenied(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app"})
	runClient(t, addr, "denied", "status 401 yes", "status 403 None")
	// The denial's body reaches the client whole.
	c := wiretest.Dial(t, addr)
	c.Send("GET /deny HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	r := c.Read("GET")
	if r.Status != 401 || string(r.Body) != "no entry" || r.Get("X-Denied") != "yes" {
		t.Fatalf("got %d %q %q, want 401 \"no entry\" with X-Denied", r.Status, r.Head, r.Body)
	}
}

// TestWSManySockets: 200 WebSockets open at once on one worker.
func TestWSManySockets(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app"})
	runClient(t, addr, "many", "many True")
}

// TestWSLimitConcurrency: a WebSocket holds one of the worker's slots
// for as long as its app runs, as a request does: with a limit of one, a
// second socket waits for the first to end.
func TestWSLimitConcurrency(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app", LimitConcurrency: 1})
	a := wsDial(t, addr, "/echo?first")
	b := wiretest.Dial(t, addr)
	b.Send(wsHandshake("/echo?second"))
	// Read from the connection beneath, which Reader's own deadline
	// does not reach, for a short wait; nothing is consumed on success.
	b.NetConn().SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var one [1]byte
	if n, _ := b.NetConn().Read(one[:]); n > 0 {
		t.Fatal("the second socket got an answer while the first held the only slot")
	}
	a.Send(string(wsFrame(0x88, []byte{0x03, 0xe8})))
	if r := b.ReadHead(); r.Status != 101 {
		t.Fatalf("second socket: got %d, want 101 once the first closed", r.Status)
	}
	b.Send(string(wsFrame(0x88, []byte{0x03, 0xe8})))
}

func wsHandshake(target string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
}

// wsDial opens a WebSocket over HTTP/1.1 with raw bytes.
func wsDial(t *testing.T, addr, target string) *wiretest.Conn {
	t.Helper()
	c := wiretest.Dial(t, addr)
	c.Send(wsHandshake(target))
	if r := c.ReadHead(); r.Status != 101 {
		t.Fatalf("handshake %s: got %q", target, r.Head)
	}
	return c
}

// wsFrame is a masked client frame with first byte b0 (payload < 64 KiB).
func wsFrame(b0 byte, p []byte) []byte {
	key := [4]byte{1, 2, 3, 4}
	b := []byte{b0}
	if len(p) < 126 {
		b = append(b, 0x80|byte(len(p)))
	} else {
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	}
	b = append(b, key[:]...)
	for i, c := range p {
		b = append(b, c^key[i%4])
	}
	return b
}

// readWSFrame reads one unmasked server frame.
func readWSFrame(t *testing.T, r io.Reader) (byte, []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		io.ReadFull(r, l[:])
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		io.ReadFull(r, l[:])
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatalf("reading a payload of %d: %v", n, err)
	}
	return h[0], p
}

// TestWSClientVanishes: a client that drops its connection without a
// close: the app hears websocket.disconnect with 1006, and its send()
// after that raises an OSError.
func TestWSClientVanishes(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app"})
	c := wsDial(t, addr, "/echo?vanish")
	c.Send(string(wsFrame(0x81, []byte("hi"))))
	if b0, p := readWSFrame(t, c.Reader()); b0 != 0x81 || string(p) != "hi" {
		t.Fatalf("echo: %#x %q", b0, p)
	}
	c.Close()
	result(t, addr, "vanish", equals(`{"code": 1006, "reason": "", "send": "ClientDisconnected"}`))
}

// TestWSBackPressure: the app sends to a client that never reads. send()
// stops completing once the socket's buffers and the window are full (so
// nave holds a bounded amount), and raises an OSError once the client
// goes.
func TestWSBackPressure(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app"})
	c := wsDial(t, addr, "/flood")
	num := func(s string) bool { return s != "null" && s != "" }
	first := result(t, addr, "flood", num)
	time.Sleep(300 * time.Millisecond)
	a := result(t, addr, "flood", num)
	time.Sleep(500 * time.Millisecond)
	b := result(t, addr, "flood", num)
	if a != b {
		t.Fatalf("the app's sends still complete (%s, then %s) with a client that does not read", a, b)
	}
	// What went out is bounded by the window (256 KiB), nave's message in
	// hand and the kernel's socket buffers: far from unbounded.
	var n int
	for _, ch := range b {
		n = n*10 + int(ch-'0')
	}
	if n*64<<10 > 64<<20 {
		t.Fatalf("%d sends of 64 KiB completed (first %s): nothing held the app back", n, first)
	}
	c.Close()
	result(t, addr, "flood_end", equals(`"OSError"`))
}

// TestWSReceiveBackPressure: an app that never receives. nave stops
// reading the client's messages once the window is full, so the
// client's writes stall instead of filling nave's memory.
func TestWSReceiveBackPressure(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app"})
	c := wsDial(t, addr, "/slow")
	result(t, addr, "slow", equals(`"accepted"`))
	msg := wsFrame(0x82, make([]byte, 60<<10))
	sent := 0
	for sent < 64<<20 {
		c.NetConn().SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.NetConn().Write(msg)
		sent += n
		if err != nil {
			break
		}
	}
	if sent >= 64<<20 {
		t.Fatalf("nave took %d bytes from a client whose app receives nothing", sent)
	}
}

// TestWSOverHTTP2: RFC 8441's extended CONNECT on an h2c connection, two
// WebSockets multiplexed on it, both echoed by the app.
func TestWSOverHTTP2(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app"})
	wsOverH2(t, addr)
}

// TestWSStarlette: a Starlette WebSocketEndpoint (JSON, a subprotocol, its
// own close code).
func TestWSStarlette(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_starlette:app"})
	runClient(t, addr, "starlette",
		"subprotocol json.v1",
		`{"echo": {"n": 0}, "count": 1}`,
		`{"echo": {"n": 1}, "count": 2}`,
		"closed 4100")
}

// TestWSFastAPIChat: examples/fastapi-chat, its broadcast reaching two
// clients.
func TestWSFastAPIChat(t *testing.T) {
	addr := serveChat(t)
	runClient(t, addr, "chat", "a echo: hi all", "b echo: hi all")
}

// serveChat serves examples/fastapi-chat.
func serveChat(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../examples/fastapi-chat")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveWS(t, asgi.Config{App: "app:app", Dir: dir})
	return addr
}

// TestWSPings: nave answers the client's ping itself; with WSPingInterval
// it pings a silent client, and one that does not answer is closed with
// 1011 after as long again, which the app hears.
func TestWSPings(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app", WSPingInterval: 300 * time.Millisecond})
	c := wsDial(t, addr, "/echo?pings")
	c.Send(string(wsFrame(0x89, []byte("you there?"))))
	if b0, p := readWSFrame(t, c.Reader()); b0 != 0x8a || string(p) != "you there?" {
		t.Fatalf("got %#x %q, want a pong with the ping's payload", b0, p)
	}
	if b0, _ := readWSFrame(t, c.Reader()); b0 != 0x89 {
		t.Fatalf("got %#x, want nave's ping", b0)
	}
	b0, p := readWSFrame(t, c.Reader())
	if b0 != 0x88 || len(p) < 2 || binary.BigEndian.Uint16(p) != 1011 {
		t.Fatalf("got %#x %q, want a close 1011 for the unanswered ping", b0, p)
	}
	result(t, addr, "pings", func(s string) bool { return strings.HasPrefix(s, `{"code": 1011`) })
}

// TestWSGoingAwayOnShutdown: a graceful stop of the server closes an open
// WebSocket with 1001 Going Away, and the app hears the client's answer
// as its websocket.disconnect, before the stop's deadline rather than
// cut by it.
func TestWSGoingAwayOnShutdown(t *testing.T) {
	mount, h, _, logger := startApp(t, asgi.Config{App: "ws_apps:app"})
	stopAfter(t, h)
	stopping, addr := listenFor(t, mount, logger, nil)
	_, other := listenFor(t, mount, logger, nil) // for the results, once addr's server is gone
	c := wsDial(t, addr, "/echo?away")
	c.Send(string(wsFrame(0x81, []byte("hi"))))
	if b0, p := readWSFrame(t, c.Reader()); b0 != 0x81 || string(p) != "hi" {
		t.Fatalf("echo: %#x %q", b0, p)
	}
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wiretest.Timeout)
		defer cancel()
		stopped <- stopping.Shutdown(ctx)
	}()
	b0, p := readWSFrame(t, c.Reader())
	if b0 != 0x88 || len(p) < 2 || binary.BigEndian.Uint16(p) != 1001 {
		t.Fatalf("on shutdown the client got frame %#x %q, want a close with 1001", b0, p)
	}
	c.Send(string(wsFrame(0x88, p[:2]))) // the client's answer
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v (the WebSocket held it to its deadline)", err)
	}
	result(t, other, "away", equals(`{"code": 1001, "reason": "", "send": "ClientDisconnected"}`))
}

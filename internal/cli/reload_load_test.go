package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"nave/internal/wiretest"
)

// liveASGI is app c of the load test: its pid at /c/pid, a WebSocket echo
// at /c/ws (Starlette, as Debian ships it).
const liveASGI = `import os
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute

async def pid(request):
    return PlainTextResponse(str(os.getpid()))

async def echo(ws):
    await ws.accept()
    while True:
        await ws.send_text(await ws.receive_text())

app = Starlette(routes=[Route("/c/pid", pid), WebSocketRoute("/c/ws", echo)])
`

// liveExtras are the load test's app c and proxy routes, when v asks.
func liveExtras(v liveVars) string {
	var text string
	if v.asgi {
		text += fmt.Sprintf(`
[apps.c]
interface = "asgi"
module = "app:app"
python = %q
chdir = "asgi"
workers = 2

[[sites.s.routes]]
match = { glob = "/c/*" }
app = "c"
`, testPython)
	}
	if v.upHTTP != "" {
		text += fmt.Sprintf(`
[upstreams.up]
servers = [%q]

[[sites.s.routes]]
match = { path = "/up/" }
proxy = "up"
`, v.upHTTP)
	}
	if v.upWS != "" {
		text += fmt.Sprintf(`
[upstreams.wsup]
servers = [%q]

[[sites.s.routes]]
match = { path = "/wsup/" }
proxy = "wsup"
`, v.upWS)
	}
	return text
}

// startWSEcho runs wiretest.WebSocketEchoPy and returns its address.
func startWSEcho(t *testing.T) string {
	t.Helper()
	return wiretest.StartProcess(t, exec.Command(testPython, "-c", wiretest.WebSocketEchoPy), wiretest.WebSocketEchoAddr)
}

// wsClient is a WebSocket client connection that sends short text
// messages and reads their echoes.
type wsClient struct {
	nc net.Conn
	br *bufio.Reader
}

func dialWS(t *testing.T, addr, path string) *wsClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	io.WriteString(nc, "GET "+path+" HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	c := &wsClient{nc: nc, br: bufio.NewReader(nc)}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	head, err := c.br.ReadString('\n')
	if err != nil || head != "HTTP/1.1 101 Switching Protocols\r\n" {
		t.Fatalf("WebSocket %s: %q, %v", path, head, err)
	}
	for line := ""; line != "\r\n"; {
		if line, err = c.br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// echo sends msg (under 126 bytes) and reads frames until its echo,
// answering pings on the way (the echo server and nave's gateway ping an
// idle-looking peer).
func (c *wsClient) echo(msg string) error {
	c.nc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.send(0x1, msg); err != nil {
		return err
	}
	for {
		op, payload, err := c.read()
		switch {
		case err != nil:
			return fmt.Errorf("no echo of %q: %v", msg, err)
		case op == 0x9:
			if err := c.send(0xA, payload); err != nil {
				return err
			}
		case op == 0xA:
		case op == 0x1 && payload == msg:
			return nil
		default:
			return fmt.Errorf("echo of %q: got opcode %#x with %q", msg, op, payload)
		}
	}
}

// send writes a masked frame (RFC 6455 §5.2) of a payload under 126 bytes.
func (c *wsClient) send(op byte, payload string) error {
	key := []byte{7, 1, 9, 3}
	frame := append([]byte{0x80 | op, 0x80 | byte(len(payload))}, key...)
	for i := range len(payload) {
		frame = append(frame, payload[i]^key[i%4])
	}
	_, err := c.nc.Write(frame)
	return err
}

// read reads an unmasked frame from the server, of a payload under 126
// bytes: all this test's are.
func (c *wsClient) read() (byte, string, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, "", err
	}
	if h[1] >= 126 {
		return 0, "", fmt.Errorf("a frame header %#x %#x this test does not expect", h[0], h[1])
	}
	p := make([]byte, h[1])
	_, err := io.ReadFull(c.br, p)
	return h[0] & 0x0f, string(p), err
}

// soak is how long TestReloadUnderLoad reloads: 10s (the 100 reloads) unless
// NAVE_RELOAD_SOAK says otherwise (NAVE_RELOAD_SOAK=30s for the 300
// reloads docs/config.md describes).
func soak(t *testing.T) time.Duration {
	s := os.Getenv("NAVE_RELOAD_SOAK")
	if s == "" {
		return 10 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second || d > time.Hour {
		t.Fatalf("NAVE_RELOAD_SOAK=%q: want a duration from 1s to 1h", s)
	}
	return d
}

// TestReloadUnderLoad: a reload every 100 ms (the /gen route changes each
// time, app a every tenth time, so that its workers are replaced under
// load), while clients hammer a folder, WSGI app a, ASGI app c and a
// proxied upstream over kept-alive connections and new ones: no request
// fails; app b's event stream, a WebSocket through app c and one through
// the proxy, all on untouched routes, stay open and keep delivering
// throughout; apps b's and c's workers are the ones they started with.
func TestReloadUnderLoad(t *testing.T) {
	const every = 100 * time.Millisecond
	reloads := int(soak(t) / every)
	dir := liveSite(t)
	os.MkdirAll(filepath.Join(dir, "asgi"), 0o755)
	os.WriteFile(filepath.Join(dir, "asgi", "app.py"), []byte(liveASGI), 0o644)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "from upstream "+r.URL.Path)
	}))
	t.Cleanup(up.Close)
	wsUp := startWSEcho(t)
	vars := func(respond string, aMax int) liveVars {
		return liveVars{respond: respond, aMax: aMax, asgi: true, upHTTP: up.Listener.Addr().String(), upWS: wsUp}
	}
	b := startLive(t, liveConfig(t, dir, vars("0", 0)))
	main := b.addr("main")
	events := openStream(t, main, "/b/events")
	events.next()
	pidsB := pids(t, main, "/b/", 10)
	pidsC := workersIn(t, os.Getpid(), filepath.Join(dir, "asgi"))
	if len(pidsC) != 2 {
		t.Fatalf("app c's workers: %v", pidsC)
	}
	sockets := map[string]*wsClient{"app c's WebSocket": dialWS(t, main, "/c/ws"), "the proxied WebSocket": dialWS(t, main, "/wsup/echo")}

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	paths := []string{"/index.html", "/a/pid", "/c/pid", "/up/x"}
	for i := range 8 {
		wg.Go(func() {
			c := &client{addr: main, keepAlive: i < 4}
			defer c.close()
			path := paths[i%4]
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.get(path); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %v", path, err))
					continue
				}
				ok.Add(1)
			}
		})
	}
	// Each long-lived stream is read (or echoed) all along, by a goroutine
	// of its own that reports its first error and how much it delivered.
	type outcome struct {
		name      string
		delivered int
		err       error
	}
	outcomes := make(chan outcome, 3)
	keep := func(name string, step func(n int) error) {
		go func() {
			n := 0
			for {
				select {
				case <-stop:
					outcomes <- outcome{name, n, nil}
					return
				default:
				}
				if err := step(n); err != nil {
					outcomes <- outcome{name, n, err}
					return
				}
				n++
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	keep("app b's event stream", func(int) error { return events.next() })
	for name, ws := range sockets {
		keep(name, func(n int) error { return ws.echo("message " + strconv.Itoa(n)) })
	}

	for i := range reloads {
		time.Sleep(every)
		if err := b.apply(liveConfig(t, dir, vars(strconv.Itoa(i+1), 1000*(i/10)))); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	if body := mustGet(t, main, "/gen"); body != strconv.Itoa(reloads) {
		t.Errorf("after %d reloads: /gen is %q", reloads, body)
	}
	close(stop)
	wg.Wait()
	for range 3 {
		o := <-outcomes
		if o.err != nil || o.delivered < reloads/2 {
			t.Errorf("%s across %d reloads: %d delivered, %v", o.name, reloads, o.delivered, o.err)
		}
	}
	if err := events.next(); err != nil {
		t.Errorf("app b's stream after the reloads: %v", err)
	}
	for name, ws := range sockets {
		if err := ws.echo("after"); err != nil {
			t.Errorf("%s after the reloads: %v", name, err)
		}
	}
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed across %d reloads; first: %v", failed.Load(), failed.Load()+ok.Load(), reloads, firstErr.Load())
	}
	if got := pids(t, main, "/b/", 10); !isSubset(got, pidsB) || slices.ContainsFunc(pidsB, func(p string) bool { return !alive(p) }) {
		t.Errorf("app b's workers: %v, were %v", got, pidsB)
	}
	if got := workersIn(t, os.Getpid(), filepath.Join(dir, "asgi")); !slices.Equal(got, pidsC) {
		t.Errorf("app c's workers: %v, were %v: a change to app a touched app c", got, pidsC)
	}
	if ok.Load() < int64(reloads)*10 {
		t.Errorf("only %d requests: the load was no load", ok.Load())
	}
	t.Logf("%d reloads, %d requests, %d failed; the event stream reached event %d", reloads, ok.Load(), failed.Load(), events.last)
}

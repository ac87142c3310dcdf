package asgi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"nave/internal/asgi"
	"nave/internal/wiretest"
)

// waitResult polls GET /result?key until match holds, failing after a
// few seconds.
func waitResult(t *testing.T, srv *wiretest.Server, key string, match func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(wiretest.Timeout)
	for {
		got := string(get(t, srv, "/result?"+key).Body)
		if match(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("result %s: got %q, still not what the test waits for", key, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func equals(want string) func(string) bool { return func(s string) bool { return s == want } }

type scopeJSON struct {
	Type        string            `json:"type"`
	ASGI        map[string]string `json:"asgi"`
	HTTPVersion string            `json:"http_version"`
	Method      string            `json:"method"`
	Scheme      string            `json:"scheme"`
	Path        string            `json:"path"`
	RawPath     string            `json:"raw_path"`
	QueryString string            `json:"query_string"`
	RootPath    string            `json:"root_path"`
	Headers     [][2]string       `json:"headers"`
	Client      []any             `json:"client"`
	Server      []any             `json:"server"`
	State       map[string]any    `json:"state"`
	Extensions  map[string]any    `json:"extensions"`
	Types       map[string]any    `json:"types"`
}

func TestScope(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:app"})
	for i := range 2 { // the second sees a fresh copy of the state
		r := roundTrip(t, srv, "GET /mnt/scope/%C3%A9t%C3%A9%2F?a=1&b=%20 HTTP/1.1\r\nHost: x\r\nX-Dup: 1\r\nX-Mixed-Case: V\r\nX-Dup: 2\r\n\r\n")
		if r.Status != 200 {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
		var s scopeJSON
		if err := json.Unmarshal(r.Body, &s); err != nil {
			t.Fatalf("%v: %s", err, r.Body)
		}
		version, scheme := "1.1", "http"
		if srv.H2 {
			version = "2"
		}
		if srv.Client != nil {
			scheme = "https"
		}
		for _, c := range []struct{ name, got, want string }{
			{"type", s.Type, "http"},
			{"asgi.version", s.ASGI["version"], "3.0"},
			{"asgi.spec_version", s.ASGI["spec_version"], "2.4"},
			{"http_version", s.HTTPVersion, version},
			{"method", s.Method, "GET"},
			{"scheme", s.Scheme, scheme},
			{"path", s.Path, "/mnt/scope/été/"},
			{"raw_path", s.RawPath, "/mnt/scope/%C3%A9t%C3%A9%2F"},
			{"query_string", s.QueryString, "a=1&b=%20"},
			{"root_path", s.RootPath, "/mnt"},
			{"headers", fmt.Sprint(s.Headers), "[[host x] [x-dup 1] [x-mixed-case V] [x-dup 2]]"},
			{"client", fmt.Sprint(s.Client[0]), "127.0.0.1"},
			{"server", fmt.Sprint(s.Server), "[127.0.0.1 " + srv.Addr[strings.LastIndex(srv.Addr, ":")+1:] + "]"},
			{"state", fmt.Sprint(s.State), "map[greeting:hello from startup]"},
			{"extensions", fmt.Sprint(s.Extensions), "map[http.response.early_hint:map[] http.response.pathsend:map[] http.response.trailers:map[]]"},
			{"types", fmt.Sprint(s.Types), "map[client:[str int] header:[bytes bytes] query_string:bytes raw_path:bytes server:[str int]]"},
		} {
			if c.got != c.want {
				t.Errorf("request %d: %s: got %q, want %q", i, c.name, c.got, c.want)
			}
		}
	}
}

// TestUploadBackPressure: the app reads the first chunk of a 64 MiB body
// and pauses; nave reads no more than it was asked for, so the client's
// writes stall with most of the body unsent. Released, the app gets the
// rest in chunks of at most 64 KiB.
func TestUploadBackPressure(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:app"})
	const size, piece = 64 << 20, 64 << 10
	c := srv.Dial(t)
	defer c.Close()
	c.Send(fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size))
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		p := bytes.Repeat([]byte("u"), piece)
		nc := c.NetConn()
		for written.Load() < size {
			if srv.H2 {
				c.Send(string(p))
			} else {
				nc.SetWriteDeadline(time.Now().Add(3 * wiretest.Timeout))
				if _, err := nc.Write(p); err != nil {
					done <- err
					return
				}
			}
			written.Add(piece)
		}
		done <- nil
	}()
	waitResult(t, srv, "upload", equals("waiting"))
	time.Sleep(300 * time.Millisecond)
	if n := written.Load(); n > 24<<20 {
		t.Errorf("the client wrote %d MiB while the app waited, want the body held back", n>>20)
	}
	get(t, srv, "/release?upload")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r := c.ReadWhole("POST")
	var total, chunks, largest int
	fmt.Sscan(string(r.Body), &total, &chunks, &largest)
	if total != size || largest > 64<<10 || chunks < size/(64<<10) {
		t.Errorf("got %q (bytes, chunks, largest), want %d bytes in chunks of at most 64 KiB", r.Body, size)
	}
}

// readPart reads the next n body bytes of a streamed response: over
// HTTP/1.1 one chunk of n bytes, framing checked.
func readPart(t *testing.T, c *wiretest.Conn, n int) string {
	t.Helper()
	br := c.Reader()
	if !c.H2() {
		size, err := br.ReadString('\n')
		if want := strconv.FormatInt(int64(n), 16) + "\r\n"; err != nil || size != want {
			t.Fatalf("chunk size line: got %q %v, want %q", size, err, want)
		}
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	if !c.H2() {
		if crlf, _ := br.ReadString('\n'); crlf != "\r\n" {
			t.Fatalf("after chunk data: got %q", crlf)
		}
	}
	return string(p)
}

// TestStreamingResponse: each chunk reaches the client when the app sends
// it, before the app goes on (it waits for the test's go-ahead).
func TestStreamingResponse(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:app"})
	c := srv.Dial(t)
	defer c.Close()
	c.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	r := c.ReadHead()
	if r.Status != 200 || !srv.H2 && r.Get("Transfer-Encoding") != "chunked" {
		t.Fatalf("got head %q, want 200, chunked on HTTP/1.1", r.Head)
	}
	for i := range 3 {
		if got, want := readPart(t, c, 8), fmt.Sprintf("chunk %d\n", i); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		get(t, srv, fmt.Sprintf("/release?stream%d", i))
	}
	if !c.H2() {
		if end, _ := c.Reader().ReadString('\n'); end != "0\r\n" {
			t.Errorf("got %q, want the last chunk", end)
		}
	}
}

// TestSlowReader: a client that reads nothing holds the app back: send()
// waits once nave has as much as the window and the sockets hold. When
// the client leaves, the app's next send raises an OSError.
func TestSlowReader(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:app"})
	c := srv.Dial(t)
	c.Send("GET /firehose?fh HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.ReadHead(); r.Status != 200 {
		t.Fatalf("got %d, want 200", r.Status)
	}
	time.Sleep(500 * time.Millisecond)
	got := string(get(t, srv, "/result?fh").Body)
	if n, err := strconv.Atoi(got); err != nil || n > 32<<20 {
		t.Errorf("the app sent %s bytes to a client that read nothing, want under 32 MiB", got)
	}
	c.Close()
	res := waitResult(t, srv, "fh", func(s string) bool { return strings.Contains(s, " ") })
	if !strings.HasSuffix(res, " ClientDisconnected") {
		t.Errorf("after the client left: got %q, want send() to raise ClientDisconnected", res)
	}
}

// TestDisconnectWhileWaiting: an app waiting in receive() hears
// http.disconnect when the client closes, and send() then raises an
// OSError subclass.
func TestDisconnectWhileWaiting(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:app"})
	c := srv.Dial(t)
	c.Send("GET /wait-disconnect?wd HTTP/1.1\r\nHost: x\r\n\r\n")
	waitResult(t, srv, "wd", equals("waiting"))
	c.Close()
	waitResult(t, srv, "wd", equals("http.disconnect ClientDisconnected True"))
}

// TestSendAfterEnd: once the response is complete its connection scope
// is closed, and send() on a closed connection raises an OSError
// subclass (spec 2.4), whatever the message.
func TestSendAfterEnd(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:app"})
	if r := get(t, srv, "/after-end?ae"); r.Status != 200 || string(r.Body) != "done" {
		t.Fatalf("got %d %q, want 200 done", r.Status, r.Body)
	}
	waitResult(t, srv, "ae", equals("ConnectionClosed True, ConnectionClosed True"))
}

func TestExceptions(t *testing.T) {
	srv, _, log := serveApp(t, asgi.Config{App: "gateway:app"})
	r := get(t, srv, "/raise-before")
	if r.Status != 500 {
		t.Errorf("raise before start: got %d, want 500", r.Status)
	}
	r = get(t, srv, "/raise-after")
	if r.Status != 200 || !r.Closed || string(r.Body) != "partial" {
		t.Errorf("raise after start: got %d closed=%v body %q, want 200 cut after \"partial\"", r.Status, r.Closed, r.Body)
	}
	if r := get(t, srv, "/"); r.Status != 200 || string(r.Body) != "Hello, World!" {
		t.Errorf("after the errors: got %d %q, want the worker still serving", r.Status, r.Body)
	}
	if !strings.Contains(log.String(), "RuntimeError: boom before the response") {
		t.Error("the traceback is not in the log")
	}
}

// TestContentLength: the app's Content-Length is the body's; HEAD has none.
func TestContentLength(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:app"})
	if r := get(t, srv, "/length?10"); r.Status != 200 || len(r.Body) != 10 || r.Closed || r.Get("Content-Length") != "10" {
		t.Errorf("exact: got %d %q closed=%v", r.Status, r.Body, r.Closed)
	}
	if r := get(t, srv, "/length?20"); len(r.Body) != 10 || r.Closed {
		t.Errorf("too long: got %q closed=%v, want the 10 bytes declared", r.Body, r.Closed)
	}
	if r := get(t, srv, "/length?4"); len(r.Body) != 4 || !r.Closed {
		t.Errorf("too short: got %q closed=%v, want 4 bytes and the response cut", r.Body, r.Closed)
	}
	r := roundTrip(t, srv, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r.Status != 200 || len(r.Body) != 0 || r.Get("Content-Length") != "13" {
		t.Errorf("HEAD: got %d %q %q, want 200, length 13, no body", r.Status, r.Head, r.Body)
	}
	if r := get(t, srv, "/big"); len(r.Body) != 3<<20 || r.Closed {
		t.Errorf("a 3 MiB send: got %d bytes closed=%v", len(r.Body), r.Closed)
	}
}

func TestPathsend(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:app"})
	want, err := os.ReadFile("testdata/files/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, srv, "/pathsend?hello.txt")
	if r.Status != 200 || string(r.Body) != string(want) || r.Get("Content-Length") != strconv.Itoa(len(want)) || r.Get("Content-Type") != "text/plain" {
		t.Errorf("got %q %q, want the file with its length", r.Head, r.Body)
	}
	r = roundTrip(t, srv, "HEAD /pathsend?hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	if r.Status != 200 || len(r.Body) != 0 || r.Get("Content-Length") != strconv.Itoa(len(want)) {
		t.Errorf("HEAD: got %q %q", r.Head, r.Body)
	}
	if r := get(t, srv, "/pathsend?missing.txt"); r.Status != 500 {
		t.Errorf("missing file: got %d, want 500", r.Status)
	}
}

func TestEarlyHint(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:app"})
	c := srv.Dial(t)
	defer c.Close()
	c.Send("GET /early-hint HTTP/1.1\r\nHost: x\r\n\r\n")
	r := c.ReadHead()
	if r.Status != 103 || strings.Join(r.Header.Values("Link"), ", ") != "</style.css>; rel=preload; as=style, </app.js>; rel=preload; as=script" {
		t.Fatalf("got %q, want 103 with both links", r.Head)
	}
	if r.Has("Content-Type") {
		t.Errorf("the 103 carries the final response's fields: %q", r.Head)
	}
	r = c.ReadWhole("GET")
	if r.Status != 200 || string(r.Body) != "ok" || r.Has("Link") {
		t.Errorf("final: got %q %q", r.Head, r.Body)
	}
}

func TestTrailers(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:app"})
	r := roundTrip(t, srv, "GET /trailers HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n")
	if r.Status != 200 || string(r.Body) != "part one, part two" {
		t.Fatalf("got %q %q", r.Head, r.Body)
	}
	if got := fmt.Sprint(r.Trailer); got != "map[X-Checksum:[abc] X-Count:[2]]" {
		t.Errorf("trailers: got %s, want both", got)
	}
	r = get(t, srv, "/trailers")
	if string(r.Body) != "part one, part two" || len(r.Trailer) != 0 {
		t.Errorf("without TE: trailers: got %q and trailers %v, want the body alone", r.Body, r.Trailer)
	}
}

// TestLimitConcurrency: with a bound of 2, six requests at once reach the
// app two at a time; the others wait in nave.
func TestLimitConcurrency(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:app", LimitConcurrency: 2})
	var wg sync.WaitGroup
	peaks := make([]string, 6)
	for i := range peaks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			peaks[i] = string(get(t, srv, "/concurrent").Body)
		}()
	}
	wg.Wait()
	for _, p := range peaks {
		if p != "1" && p != "2" {
			t.Errorf("peak in the app: got %q, want at most 2 (all: %q)", p, peaks)
			break
		}
	}
}

// TestQueuedClientGone: with the app's one slot taken, a request whose
// client leaves while it waits in nave is taken out of the queue: the app
// never runs it, and it is counted as abandoned.
func TestQueuedClientGone(t *testing.T) {
	// A timeout of 2 s: the pool tells a request it waited long after
	// 200 ms in the queue.
	srv, h, log := serveApp(t, asgi.Config{App: "gateway:app", LimitConcurrency: 1, Timeout: 2 * time.Second})
	busy := srv.Dial(t)
	defer busy.Close()
	busy.Send("GET /sleep?1 HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	gone := srv.Dial(t)
	gone.Send("GET /mark?gone HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(500 * time.Millisecond) // past two ticks: watched
	gone.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), "client left while its request waited for a worker") {
		if time.Now().After(deadline) {
			t.Fatalf("no withdrawal logged:\n%s", log)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := busy.Read("GET"); r.Status != 200 {
		t.Fatalf("the busy request: %d", r.Status)
	}
	if r := get(t, srv, "/mark?kept"); r.Status != 200 {
		t.Fatalf("/mark?kept: %d", r.Status)
	}
	if r := get(t, srv, "/marks"); string(r.Body) != "kept" {
		t.Errorf("the app ran %q, want only kept", r.Body)
	}
	if s := h.Stats(); s.Abandoned != 1 {
		t.Errorf("abandoned %d, want 1", s.Abandoned)
	}
}

func TestLoopAndFactory(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "gateway:make_app()", Loop: "asyncio"})
	if r := get(t, srv, "/loop"); string(r.Body) != "asyncio" {
		t.Errorf("loop=asyncio: got %q", r.Body)
	}
	srv, _, _ = serveApp(t, asgi.Config{App: "gateway:app"})
	if r := get(t, srv, "/loop"); string(r.Body) != "uvloop" {
		t.Errorf("loop=auto with uvloop installed: got %q", r.Body)
	}
}

func TestLifespanShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Python worker")
	}
	marker := filepath.Join(t.TempDir(), "shutdown")
	t.Setenv("NAVE_TEST_SHUTDOWN_MARKER", marker)
	t.Run("serve", func(t *testing.T) {
		srv, h, _ := serveApp(t, asgi.Config{App: "gateway:app", Lifespan: "on"})
		if h.Lifespan() != "on" {
			t.Errorf("lifespan: got %q, want on", h.Lifespan())
		}
		get(t, srv, "/")
		if _, err := os.Stat(marker); err == nil {
			t.Error("shutdown ran before Stop")
		}
	}) // its cleanup stops the worker
	if b, err := os.ReadFile(marker); err != nil || string(b) != "shut down" {
		t.Errorf("after Stop: got %q %v, want the shutdown's marker", b, err)
	}
}

func TestLifespanOff(t *testing.T) {
	srv, h, _ := serveApp(t, asgi.Config{App: "gateway:app", Lifespan: "off"})
	var s scopeJSON
	json.Unmarshal(get(t, srv, "/scope").Body, &s)
	if h.Lifespan() != "off" || len(s.State) != 0 {
		t.Errorf("got lifespan %q and state %v, want off and empty", h.Lifespan(), s.State)
	}
}

func TestLifespanUnsupported(t *testing.T) {
	srv, h, _ := serveApp(t, asgi.Config{App: "lifespans:raising"})
	if r := get(t, srv, "/"); string(r.Body) != "served without lifespan" || h.Lifespan() != "unsupported" {
		t.Errorf("auto: got %q, lifespan %q; want served, unsupported", r.Body, h.Lifespan())
	}
}

func TestLifespanStartError(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Python worker")
	}
	dir, _ := filepath.Abs("testdata/apps")
	for _, tc := range []struct{ name, app, mode, want string }{
		{"failed", "lifespans:failed", "auto", "lifespan startup failed: the database is not there"},
		{"raising_on", "lifespans:raising", "on", "lifespan startup failed: RuntimeError: lifespan not supported here"},
		{"import", "no_such_module:app", "auto", "cannot import app 'no_such_module:app': ModuleNotFoundError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := asgi.New(asgi.Config{App: tc.app, Dir: dir, Python: python, Lifespan: tc.mode})
			err := h.Start()
			se, ok := err.(*asgi.StartError)
			if !ok || !strings.Contains(se.Error(), tc.want) {
				t.Fatalf("got %v, want a StartError saying %q", err, tc.want)
			}
		})
	}
}

// TestStopCancelsRunningApps: an app that would wait forever is
// cancelled once Stop's context is done, and the lifespan shutdown still
// runs before the worker exits.
func TestStopCancelsRunningApps(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "shutdown")
	t.Setenv("NAVE_TEST_SHUTDOWN_MARKER", marker)
	srv, h, log := serveApp(t, asgi.Config{App: "gateway:app"})
	c := srv.Dial(t)
	defer c.Close()
	c.Send("GET /wait-disconnect?stop HTTP/1.1\r\nHost: x\r\n\r\n")
	waitResult(t, srv, "stop", equals("waiting"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.Stop(ctx); err != context.DeadlineExceeded {
		t.Errorf("Stop: got %v, want the deadline exceeded", err)
	}
	// Killed, the worker would not have written it.
	if b, _ := os.ReadFile(marker); string(b) != "shut down" {
		t.Errorf("lifespan shutdown: got marker %q, want it run after the cancel", b)
	}
	if !strings.Contains(log.String(), "cancelling 1 request(s) still running at shutdown") {
		t.Error("the cancel is not in the log")
	}
}

// TestExpectContinue: 100 Continue goes when the app first asks for the
// body, and not at all when it answers without reading it.
func TestExpectContinue(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "apps:app"})
	c := srv.Dial(t)
	defer c.Close()
	c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	if r := c.ReadHead(); r.Status != 100 {
		t.Fatalf("got %q, want 100 Continue", r.Head)
	}
	c.Send("hello")
	if r := c.ReadWhole("POST"); r.Status != 200 || string(r.Body) != "hello" {
		t.Errorf("got %d %q, want the body echoed", r.Status, r.Body)
	}
	c2 := srv.Dial(t)
	defer c2.Close()
	c2.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	if r := c2.ReadHead(); r.Status != 200 {
		t.Errorf("an app that reads no body: got %q, want 200 without 100 Continue", r.Head)
	}
}

func TestChunkedUploadAndHTTP10(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "apps:app"})
	r := roundTrip(t, srv, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
	if r.Status != 200 || string(r.Body) != "hello world" {
		t.Errorf("chunked: got %d %q, want hello world", r.Status, r.Body)
	}
	wiretest.SkipInH2(t, "HTTP/1.0")
	r = roundTrip(t, srv, "GET /echo HTTP/1.0\r\n\r\n")
	if got := r.Get("X-Scope"); !strings.Contains(got, " 1.0 ") {
		t.Errorf("HTTP/1.0: got scope %q, want http_version 1.0", got)
	}
}

// TestMaxBody: a declared length past the bound is refused before the app
// runs; a chunked body is cut off where it passes it.
func TestMaxBody(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "apps:app", MaxBody: 10})
	if r := roundTrip(t, srv, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"); r.Status != 413 {
		t.Errorf("Content-Length past the bound: got %d, want 413", r.Status)
	}
	if r := roundTrip(t, srv, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello world\r\n0\r\n\r\n"); r.Status != 413 {
		t.Errorf("chunked past the bound: got %d, want 413", r.Status)
	}
	if r := roundTrip(t, srv, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"); r.Status != 200 || string(r.Body) != "hello" {
		t.Errorf("chunked within the bound: got %d %q", r.Status, r.Body)
	}
}

// TestWorkerDeath: a worker that dies fails its request in flight (a
// 500, since nothing was sent), and the Pool starts another, which
// serves the requests that follow.
func TestWorkerDeath(t *testing.T) {
	srv, h, log := serveApp(t, asgi.Config{App: "gateway:app", Workers: 1})
	before := h.Pids()
	if r := get(t, srv, "/exit"); r.Status != 500 {
		t.Errorf("in flight: got %d, want 500", r.Status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := get(t, srv, "/")
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the death: got %d, want 200 from a new worker", r.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after := h.Pids(); len(after) != 1 || len(before) != 1 || after[0] == before[0] {
		t.Errorf("pids: before %v, after %v; want one new worker", before, after)
	}
	if !strings.Contains(log.String(), "worker died") {
		t.Error("the death is not in the log")
	}
}

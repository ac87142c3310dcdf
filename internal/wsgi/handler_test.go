package wsgi_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"nave/internal/server"
	"nave/internal/wiretest"
	"nave/internal/wsgi"
)

// environOf fetches the environ the probe app saw for raw.
func environOf(t *testing.T, g *gateway, raw string) map[string]any {
	t.Helper()
	r := g.roundTrip(t, raw)
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var env map[string]any
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("environ JSON: %v: %s", err, r.Body)
	}
	return env
}

// TestEnviron: each CGI and wsgi.* key of PEP 3333, as the app sees it.
func TestEnviron(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	env := environOf(t, g, "POST /environ?a=1&b=%20 HTTP/1.1\r\nHost: example.com:8080\r\n"+
		"Content-Type: text/plain\r\nContent-Length: 4\r\nAccept: a\r\nX-Multi: 1\r\nx-multi: 2\r\n"+
		"Cookie: c=1\r\nCookie: d=2\r\nX-Latin: caf\xe9\r\n\r\nbody")
	want := map[string]any{
		"REQUEST_METHOD":        "POST",
		"SCRIPT_NAME":           "",
		"PATH_INFO":             "/environ",
		"QUERY_STRING":          "a=1&b=%20",
		"CONTENT_TYPE":          "text/plain",
		"CONTENT_LENGTH":        "4",
		"SERVER_NAME":           "example.com",
		"SERVER_PORT":           g.Addr[strings.LastIndexByte(g.Addr, ':')+1:],
		"SERVER_PROTOCOL":       g.protocol(),
		"REMOTE_ADDR":           "127.0.0.1",
		"HTTP_HOST":             "example.com:8080",
		"HTTP_ACCEPT":           "a",
		"HTTP_X_MULTI":          "1, 2",
		"HTTP_COOKIE":           "c=1; d=2",
		"HTTP_X_LATIN":          "caf\u00e9", // the byte 0xE9 as a latin-1 str
		"wsgi.url_scheme":       "http",
		"wsgi.input_terminated": true,
		"wsgi.multithread":      false,
		"wsgi.multiprocess":     false,
		"wsgi.run_once":         false,
		"wsgi.errors":           "<TextIOWrapper>",
		"wsgi.file_wrapper":     "<type>",
	}
	if g.Client != nil {
		want["wsgi.url_scheme"] = "https" // TestEnvironTLS checks both schemes in every mode
	}
	for k, v := range want {
		if got := env[k]; got != v {
			t.Errorf("%s: got %#v, want %#v", k, got, v)
		}
	}
	if v, _ := env["wsgi.version"].([]any); len(v) != 2 || v[0] != 1.0 || v[1] != 0.0 {
		t.Errorf("wsgi.version: got %v, want (1, 0)", env["wsgi.version"])
	}
	if port, _ := env["REMOTE_PORT"].(string); port == "" {
		t.Error("REMOTE_PORT missing")
	}
	if got := fmt.Sprint(env["wsgi.input.has"]); got != "[__iter__ read readline readlines]" {
		t.Errorf("wsgi.input methods: got %s", got)
	}
	if got := fmt.Sprint(env["wsgi.errors.has"]); got != "[flush write writelines]" {
		t.Errorf("wsgi.errors methods: got %s", got)
	}
	for _, k := range []string{"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s present", k)
		}
	}
}

// TestEnvironTLS: over HTTPS the app sees the truth, as gunicorn and
// uWSGI tell it: wsgi.url_scheme https and HTTPS=on.
func TestEnvironTLS(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		g := startWith(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{}, "", useTLS)
		scheme, https := "http", any(nil)
		if useTLS {
			scheme, https = "https", "on"
		}
		env := environOf(t, g, "GET /environ HTTP/1.1\r\nHost: localhost\r\nX-Probe: environ\r\n\r\n")
		if env["wsgi.url_scheme"] != scheme || env["HTTPS"] != https || env["SERVER_PROTOCOL"] != g.protocol() {
			t.Errorf("TLS %v: got wsgi.url_scheme %v, HTTPS %v, SERVER_PROTOCOL %v; want %s, %v, %s",
				useTLS, env["wsgi.url_scheme"], env["HTTPS"], env["SERVER_PROTOCOL"], scheme, https, g.protocol())
		}
	}
}

// TestEnvironPathInfo: PATH_INFO is percent-decoded once and carried as
// latin-1 "bytes as str"; --mount splits SCRIPT_NAME off it.
func TestEnvironPathInfo(t *testing.T) {
	g := startMounted(t, wsgi.Config{App: "probe:app", Workers: 2}, wsgi.HandlerConfig{}, "/app/")
	for _, tc := range []struct{ target, script, info string }{
		{"/app/environ", "/app", "/environ"},
		{"/app/environ/caf%C3%A9%20x", "/app", "/environ/caf\u00c3\u00a9 x"},
		{"/app/environ/%E9", "/app", "/environ/\u00e9"},
		{"/app/environ/a%2Fb", "/app", "/environ/a/b"},
	} {
		// X-Probe makes the probe dump its environ whatever the path.
		env := environOf(t, g, "GET "+tc.target+" HTTP/1.1\r\nHost: h\r\nX-Probe: environ\r\n\r\n")
		if env["SCRIPT_NAME"] != tc.script || env["PATH_INFO"] != tc.info {
			t.Errorf("%s: got SCRIPT_NAME %q PATH_INFO %q; want %q %q", tc.target, env["SCRIPT_NAME"], env["PATH_INFO"], tc.script, tc.info)
		}
		if env["wsgi.multiprocess"] != true {
			t.Errorf("wsgi.multiprocess with 2 workers: got %v", env["wsgi.multiprocess"])
		}
	}
	for _, target := range []string{"/", "/apple", "/other/app"} {
		if r := g.get(t, target); r.Status != 404 {
			t.Errorf("%s outside the mount: got %d, want 404", target, r.Status)
		}
	}
	if r := g.get(t, "/app/environ%00x"); r.Status != 400 {
		t.Errorf("NUL in the path: got %d, want 400", r.Status)
	}
}

// TestInput: wsgi.input's read, read(n), readline, readline(size),
// readlines and iteration, with EOF giving b” at once, for bodies kept in
// memory and for bodies spooled to a file.
func TestInput(t *testing.T) {
	body := "line one\nline two\nthree"
	want := map[string]string{
		"read":          `[b'line one\nline two\nthree', b'']`,
		"readn":         `[b'lin', b'e o', b'ne\n', b'lin', b'e t', b'wo\n', b'thr', b'ee', b'']`,
		"readline":      `[b'line one\n', b'line two\n', b'three', b'']`,
		"readline-size": `[b'li', b'ne one\n']`,
		"readlines":     `[b'line one\n', b'line two\n', b'three', b'']`,
		"iter":          `[b'line one\n', b'line two\n', b'three']`,
	}
	for _, spool := range []bool{false, true} {
		hcfg := wsgi.HandlerConfig{}
		if spool {
			hcfg.BodyBuffer = 8 // anything longer goes through a file
		}
		g := startGateway(t, wsgi.Config{App: "probe:app"}, hcfg)
		for mode, w := range want {
			for _, chunked := range []bool{false, true} {
				raw := "POST /input?" + mode + " HTTP/1.1\r\nHost: h\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
				if chunked {
					raw = "POST /input?" + mode + " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
						"5\r\nline \r\n" + strconv.FormatInt(int64(len(body)-5), 16) + "\r\n" + body[5:] + "\r\n0\r\n\r\n"
				}
				r := g.roundTrip(t, raw)
				if string(r.Body) != w {
					t.Errorf("spool %v chunked %v %s: got %s, want %s", spool, chunked, mode, r.Body, w)
				}
			}
		}
		// No body at all: EOF at once, never a wait.
		r := g.roundTrip(t, "GET /input?read HTTP/1.1\r\nHost: h\r\n\r\n")
		if string(r.Body) != "[b'', b'']" {
			t.Errorf("no body: got %s", r.Body)
		}
	}
}

// TestChunkedRequest: a chunked body reaches the app de-chunked, with
// CONTENT_LENGTH and wsgi.input_terminated, and no Transfer-Encoding.
func TestChunkedRequest(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	env := environOf(t, g, "POST /environ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	if env["CONTENT_LENGTH"] != "5" || env["wsgi.input_terminated"] != true {
		t.Errorf("got CONTENT_LENGTH %v, wsgi.input_terminated %v", env["CONTENT_LENGTH"], env["wsgi.input_terminated"])
	}
	if _, ok := env["HTTP_TRANSFER_ENCODING"]; ok {
		t.Error("HTTP_TRANSFER_ENCODING present")
	}
	r := g.roundTrip(t, "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	if string(r.Body) != "abcde" {
		t.Errorf("echo: got %q", r.Body)
	}
}

// TestResponses: start_response, write(), iterables and Content-Length,
// each as PEP 3333 says, checked on the wire.
func TestResponses(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "validated:app"}, wsgi.HandlerConfig{})
	for _, tc := range []struct {
		path        string
		status      int
		body        string
		streamed    bool // no length declared: chunked on HTTP/1.1
		closed      bool
		wantHeaders map[string]string
	}{
		{path: "/hello", status: 200, body: "Hello, world!\n", wantHeaders: map[string]string{"Content-Type": "text/plain"}},
		{path: "/write", status: 200, body: "written twice then returned\n"},
		{path: "/empty-blocks", status: 200, body: "ab"},
		{path: "/stream?3", status: 200, body: "block 0\nblock 1\nblock 2\n", streamed: true},
		{path: "/stream?1", status: 200, body: "block 0\n", streamed: true},
		{path: "/generator-cl", status: 200, body: "hello", wantHeaders: map[string]string{"Content-Length": "5"}},
		{path: "/generator-cl-whole", status: 200, body: "hello", wantHeaders: map[string]string{"Content-Length": "5"}},
		{path: "/generator-cl-extra", status: 200, body: "abc", wantHeaders: map[string]string{"Content-Length": "3"}},
		{path: "/long-cl", status: 200, body: "too", wantHeaders: map[string]string{"Content-Length": "3"}},
		{path: "/exc-info", status: 500, body: "error page\n"},
		{path: "/status?299+Fine", status: 299, body: "status body"},
		{path: "/status?418+I'm+a+teapot", status: 418, body: "status body"},
		{path: "/status?204+No+Content", status: 204, body: ""},
		{path: "/missing", status: 404, body: "not found\n"},
		{path: "/file-like", status: 200, body: "from a BytesIO\n"},
	} {
		r := g.get(t, tc.path)
		if r.Status != tc.status || string(r.Body) != tc.body || tc.streamed && !r.Streamed() || r.Closed != tc.closed {
			t.Errorf("%s: got %d %q streamed %v closed %v; want %d %q streamed %v closed %v\n%s",
				tc.path, r.Status, r.Body, r.Streamed(), r.Closed, tc.status, tc.body, tc.streamed, tc.closed, r.Head)
		}
		for k, v := range tc.wantHeaders {
			if got := r.Get(k); got != v {
				t.Errorf("%s: %s: got %q, want %q", tc.path, k, got, v)
			}
		}
	}
	if strings.Contains(g.log.String(), "AssertionError") {
		t.Errorf("wsgiref.validate found a breach:\n%s", g.log.String())
	}
}

// TestReasonPhrase: the app's own reason phrase goes out as written, as
// gunicorn, uWSGI and waitress send it.
func TestReasonPhrase(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	for path, want := range map[string]string{
		"/status?299+Fine":         "HTTP/1.1 299 Fine\r\n",
		"/status?404+Gone+Fishing": "HTTP/1.1 404 Gone Fishing\r\n",
		"/status?200+OK":           "HTTP/1.1 200 OK\r\n",
		"/hello":                   "HTTP/1.1 200 OK\r\n",
	} {
		r := g.get(t, path)
		if r.Proto == "HTTP/2.0" {
			// RFC 9113 §8.3.2: HTTP/2 carries no reason phrase; the
			// app's status code still goes out.
			if code := want[len("HTTP/1.1 "):][:3]; strconv.Itoa(r.Status) != code {
				t.Errorf("%s: status %d, want %s", path, r.Status, code)
			}
			continue
		}
		if !strings.HasPrefix(r.Head, want) {
			t.Errorf("%s: head %q, want it to start %q", path, r.Head, want)
		}
	}
}

// TestShortContentLength: a body shorter than the app's Content-Length
// closes the connection, so the client sees it is incomplete.
func TestShortContentLength(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	r := g.get(t, "/short-cl")
	if r.Status != 200 || string(r.Body) != "only this" || !r.Closed {
		t.Errorf("got %d %q closed %v", r.Status, r.Body, r.Closed)
	}
}

// TestHTTP10Streaming: a streamed body to an HTTP/1.0 client ends with the
// connection, since there is no chunked coding.
func TestHTTP10Streaming(t *testing.T) {
	wiretest.SkipInH2(t, "HTTP/1.0 framing; over HTTP/2 a streamed body is TestResponses' /stream")
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	r := g.roundTrip(t, "GET /stream?2 HTTP/1.0\r\n\r\n")
	if r.Status != 200 || string(r.Body) != "block 0\nblock 1\n" || r.Chunked || !strings.Contains(r.Head, "Connection: close") {
		t.Errorf("got %d %q chunked %v\n%s", r.Status, r.Body, r.Chunked, r.Head)
	}
}

// TestStreamedAsYielded: the first block of a generator reaches the client
// while the generator is still running (it never ends here).
func TestStreamedAsYielded(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	c := g.Dial(t)
	c.Send("GET /stream-forever HTTP/1.1\r\nHost: h\r\n\r\n")
	if r := c.ReadHead(); !r.Streamed() {
		t.Fatalf("head %q", r.Head)
	}
	buf := make([]byte, 4096)
	if n, err := io.ReadAtLeast(c.Reader(), buf, 2048); err != nil {
		t.Fatalf("read %d: %v", n, err)
	}
	// The client goes away: the worker is told, closes the generator
	// (PEP 3333: close() is always called) and serves the next request.
	c.Close()
	g.log.waitFor(t, "stream-forever closed")
	if r := g.get(t, "/hello"); r.Status != 200 {
		t.Errorf("after cancel: got %d", r.Status)
	}
}

// TestHead: HEAD gets the head a GET would, with no body, and the
// connection stays usable.
func TestHead(t *testing.T) {
	// A body returned whole has its length in the head.
	p := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	if r := p.roundTrip(t, "HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\n"); r.Status != 200 || r.Get("Content-Length") != "14" {
		t.Errorf("HEAD /hello: %s", r.Head)
	}
	// Under wsgiref's validator, whose iterator wraps every body.
	g := startGateway(t, wsgi.Config{App: "validated:app"}, wsgi.HandlerConfig{})
	c := g.Dial(t)
	c.Send("HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\nHEAD /stream?2 HTTP/1.1\r\nHost: h\r\n\r\nGET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
	r := c.Read("HEAD")
	if cl := r.Get("Content-Length"); r.Status != 200 || cl != "14" && cl != "" {
		t.Errorf("HEAD /hello: %s", r.Head)
	}
	r = c.Read("HEAD")
	if r.Status != 200 {
		t.Errorf("HEAD /stream: %s", r.Head)
	}
	r = c.Read("GET")
	if r.Status != 200 || string(r.Body) != "Hello, world!\n" {
		t.Errorf("GET after HEADs: %d %q", r.Status, r.Body)
	}
}

// TestHeadStreamStops: a HEAD on a streamed body that never ends is
// answered at once, with no length; the app's generator is closed, and the
// connection serves the next request.
func TestHeadStreamStops(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app", Timeout: time.Minute}, wsgi.HandlerConfig{})
	c := g.Dial(t)
	c.Send("HEAD /stream-forever HTTP/1.1\r\nHost: h\r\n\r\nGET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
	r := c.Read("HEAD")
	if r.Status != 200 || r.Get("Content-Length") != "" || r.Get("Transfer-Encoding") != "" {
		t.Errorf("HEAD /stream-forever: %s", r.Head)
	}
	g.log.waitFor(t, "stream-forever closed")
	r = c.Read("GET")
	if r.Status != 200 || string(r.Body) != "Hello, world!\n" {
		t.Errorf("GET after HEAD: %d %q", r.Status, r.Body)
	}
}

// TestReadAheadWhileStreaming: a batch of two requests to one worker that
// the worker's first read takes only part of (the first request's 63 KB
// body fills its buffer), the first streaming its answer: the adapter
// reads the rest of the second while it looks for a CANCEL between the
// first's blocks, and must run it once the first ends rather than wait on
// its socket for more (it did: the second request hung until the worker
// timeout).
func TestReadAheadWhileStreaming(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app", Workers: 1, Timeout: time.Minute}, wsgi.HandlerConfig{})
	busy := g.Dial(t)
	busy.Send("GET /stream?6 HTTP/1.1\r\nHost: h\r\n\r\n") // holds the worker, so the next two queue together
	if r := busy.ReadHead(); r.Status != 200 {
		t.Fatalf("GET /stream?6: %s", r.Head)
	}
	big, small := g.Dial(t), g.Dial(t)
	body := strings.Repeat("b", 64000)
	big.Send(fmt.Sprintf("POST /stream?2 HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	time.Sleep(50 * time.Millisecond) // queued first
	small.Send("GET /hello HTTP/1.1\r\nHost: h\r\nX-Pad: " + strings.Repeat("p", 4000) + "\r\n\r\n")
	if r := big.Read("POST"); r.Status != 200 {
		t.Errorf("POST /stream?2: %d %q", r.Status, r.Body)
	}
	if r := small.Read("GET"); r.Status != 200 || string(r.Body) != "Hello, world!\n" {
		t.Errorf("GET /hello queued behind it: %d %q", r.Status, r.Body)
	}
}

// TestClose: close() of the app's iterable is called after every request,
// also when the app fails mid-body.
func TestClose(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	for i := range 3 {
		r := g.get(t, "/close")
		if want := fmt.Sprintf("closed so far: %d", i); string(r.Body) != want {
			t.Errorf("got %q, want %q", r.Body, want)
		}
	}
	if r := g.get(t, "/close-count"); string(r.Body) != "3" {
		t.Errorf("close count: got %q, want 3", r.Body)
	}
}

// TestSetCookies: repeated Set-Cookie fields all reach the client, apart.
func TestSetCookies(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	r := g.get(t, "/cookies")
	if got := r.Header.Values("Set-Cookie"); len(got) != 2 || got[0] != "a=1; Path=/" || got[1] != "b=2; HttpOnly" {
		t.Errorf("Set-Cookie: got %q", got)
	}
}

// TestAppErrors: an app that fails before its head went out gets the
// client a 500; after, the connection closes mid-body. Either way the
// worker survives and the traceback is logged.
func TestAppErrors(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	pid := string(g.get(t, "/pid").Body)
	for _, path := range []string{"/raise-before", "/raise-after-start", "/no-start", "/twice", "/str-body", "/sys-exit", "/exc-info-late"} {
		r := g.get(t, path)
		if path == "/exc-info-late" {
			if r.Status != 200 || string(r.Body) != "sent\n" || !r.Closed {
				t.Errorf("%s: got %d %q closed %v, want the head out, then a close", path, r.Status, r.Body, r.Closed)
			}
			continue
		}
		if r.Status != 500 {
			t.Errorf("%s: got %d, want 500", path, r.Status)
		}
	}
	r := g.get(t, "/raise-in-iter")
	if r.Status != 200 || string(r.Body) != "first block\n" || !r.Closed {
		t.Errorf("/raise-in-iter: got %d %q closed %v, want the first block and a close", r.Status, r.Body, r.Closed)
	}
	if got := string(g.get(t, "/pid").Body); got != pid {
		t.Errorf("the worker changed: pid %s, then %s", pid, got)
	}
	g.log.waitFor(t, "RuntimeError: boom mid-body")
	g.log.waitFor(t, "boom before start_response")
}

// TestInvalidHeaders: a head nave cannot send (not latin-1, CR or LF, NUL,
// a bad name or status, too large) is a 500, logged; never a split
// response.
func TestInvalidHeaders(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	for _, path := range []string{"/bad-latin1", "/bad-crlf", "/bad-nul", "/bad-name", "/bad-status", "/huge-head"} {
		r := g.get(t, path)
		if r.Status != 500 || strings.Contains(r.Head, "evil") {
			t.Errorf("%s: got %d\n%s", path, r.Status, r.Head)
		}
	}
	g.log.waitFor(t, "invalid response")
	if r := g.get(t, "/hello"); r.Status != 200 {
		t.Errorf("after: got %d", r.Status)
	}
}

// TestFileWrapper: wsgi.file_wrapper over a real file is handed to nave,
// which sends it (with sendfile); from an offset too.
func TestFileWrapper(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i * 7)
	}
	name := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := g.get(t, "/file?"+name)
	if r.Status != 200 || !bytes.Equal(r.Body, data) || r.Get("Content-Length") != strconv.Itoa(len(data)) {
		t.Errorf("file: got %d, %d bytes, Content-Length %q", r.Status, len(r.Body), r.Get("Content-Length"))
	}
	r = g.get(t, "/file-offset?"+name+",1000")
	if !bytes.Equal(r.Body, data[1000:]) {
		t.Errorf("from an offset: got %d bytes, want %d", len(r.Body), len(data)-1000)
	}
	r = g.roundTrip(t, "HEAD /file?"+name+" HTTP/1.1\r\nHost: h\r\n\r\n")
	if r.Status != 200 || r.Get("Content-Length") != strconv.Itoa(len(data)) {
		t.Errorf("HEAD: %s", r.Head)
	}
}

// TestPipelined: requests pipelined on one connection are answered in
// order.
func TestPipelined(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	c := g.Dial(t)
	var raw strings.Builder
	for i := range 20 {
		fmt.Fprintf(&raw, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%d", len(strconv.Itoa(i)), i)
	}
	c.Send(raw.String())
	for i := range 20 {
		if r := c.Read("POST"); string(r.Body) != strconv.Itoa(i) {
			t.Errorf("response %d: got %q", i, r.Body)
		}
	}
}

// TestLargeBodies: uploads kept in memory and spooled to a file arrive
// whole (checked by hash); a large response arrives whole.
func TestLargeBodies(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	for _, size := range []int{0, 1, 70 << 10, 1 << 20, 5<<20 + 3} {
		body := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		sum := sha256.Sum256(body)
		r := g.roundTrip(t, "POST /hash HTTP/1.1\r\nHost: h\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n"+string(body))
		if want := fmt.Sprintf("%d %s", size, hex.EncodeToString(sum[:])); string(r.Body) != want {
			t.Errorf("upload of %d: got %q, want %q", size, r.Body, want)
		}
	}
	r := g.get(t, "/big?"+strconv.Itoa(5<<20))
	if len(r.Body) != 5<<20 || r.Get("Content-Length") != strconv.Itoa(5<<20) {
		t.Errorf("big response: %d bytes, Content-Length %q", len(r.Body), r.Get("Content-Length"))
	}
	r = g.get(t, "/big-stream?5")
	if len(r.Body) != 5<<20 || !r.Streamed() {
		t.Errorf("big stream: %d bytes, streamed %v", len(r.Body), r.Streamed())
	}
}

// TestSlowClient: a client that does not read does not hold the worker:
// nave takes the whole response (spooling it) and the single worker
// serves others meanwhile.
func TestSlowClient(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	slow := g.Dial(t)
	slow.Send("GET /big-stream?24 HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(500 * time.Millisecond) // the worker produces all of it
	start := time.Now()
	for range 5 {
		if r := g.get(t, "/hello"); r.Status != 200 {
			t.Fatalf("got %d", r.Status)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("other requests waited %v behind a slow client", d)
	}
	r := slow.Read("GET")
	if len(r.Body) != 24<<20 {
		t.Errorf("slow client got %d bytes, want %d", len(r.Body), 24<<20)
	}
}

// TestOtherPythons runs a few PEP 3333 points under each interpreter in
// $NAVE_TEST_PYTHONS (colon-separated), to check the adapter on CPython
// 3.8 and later, e.g.
//
//	NAVE_TEST_PYTHONS=/root/.pyenv/versions/3.8.18/bin/python3:/root/.pyenv/versions/3.13.0/bin/python3 \
//	    go test ./internal/wsgi -run OtherPythons
func TestOtherPythons(t *testing.T) {
	list := os.Getenv("NAVE_TEST_PYTHONS")
	if list == "" {
		t.Skip("set NAVE_TEST_PYTHONS to run")
	}
	for _, py := range strings.Split(list, ":") {
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(py))), func(t *testing.T) {
			g := startGateway(t, wsgi.Config{App: "validated:app", Python: py}, wsgi.HandlerConfig{BodyBuffer: 4})
			if r := g.get(t, "/hello"); string(r.Body) != "Hello, world!\n" {
				t.Errorf("/hello: %d %q", r.Status, r.Body)
			}
			if r := g.get(t, "/stream?2"); string(r.Body) != "block 0\nblock 1\n" {
				t.Errorf("/stream: %q", r.Body)
			}
			r := g.roundTrip(t, "POST /input?readline HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\na\nbcde\r\n0\r\n\r\n")
			if string(r.Body) != `[b'a\n', b'bcde', b'']` {
				t.Errorf("/input: %q", r.Body)
			}
			if r := g.get(t, "/raise-before"); r.Status != 500 {
				t.Errorf("/raise-before: %d", r.Status)
			}
			if strings.Contains(g.log.String(), "AssertionError") {
				t.Errorf("wsgiref.validate found a breach:\n%s", g.log.String())
			}
		})
	}
}

// BenchmarkGateway measures requests through nave's handler to one worker
// running a minimal app, over keep-alive loopback connections, batched as
// under load. The clients run in this process, so it tracks regressions
// rather than absolute throughput (see docs/wsgi.md for wrk runs).
func BenchmarkGateway(b *testing.B) {
	for _, tc := range []struct{ name, app string }{{"raw", "hello:app"}, {"probe_environ", "probe:app"}} {
		b.Run(tc.name, func(b *testing.B) {
			needPythonB(b)
			g := startGatewayB(b, wsgi.Config{App: tc.app, Workers: 1})
			path := "/"
			if tc.app == "probe:app" {
				path = "/environ"
			}
			raw := []byte("GET " + path + " HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
			b.SetParallelism(8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				nc, err := net.Dial("tcp", g)
				if err != nil {
					b.Error(err)
					return
				}
				defer nc.Close()
				br := bufio.NewReader(nc)
				for pb.Next() {
					if _, err := nc.Write(raw); err != nil {
						b.Error(err)
						return
					}
					r, err := wiretest.ReadResponse(br, "GET")
					if err != nil || r.Status != 200 {
						b.Errorf("%v %+v", err, r)
						return
					}
				}
			})
		})
	}
}

func needPythonB(b *testing.B) {
	if _, err := os.Stat(python); err != nil {
		b.Skipf("%s is missing: run scripts/deps.sh", python)
	}
	b.Setenv("PYTHONDONTWRITEBYTECODE", "1")
}

// startGatewayB is startGateway for benchmarks: quiet, and returns the
// address.
func startGatewayB(b *testing.B, cfg wsgi.Config) string {
	cfg.Python = python
	dir, _ := filepath.Abs("testdata/apps")
	cfg.Dir = dir
	pool := wsgi.New(cfg)
	if err := pool.Start(); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := server.New(server.Config{Handler: wsgi.NewHandler(pool, wsgi.HandlerConfig{})})
	go srv.Serve(ln)
	b.Cleanup(func() {
		srv.Close()
		pool.Kill()
	})
	return ln.Addr().String()
}

// TestSpoolFailure: a body nave cannot store (its temporary folder is
// gone) gets a 500 and a log line, not a silent close.
func TestSpoolFailure(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{BodyBuffer: 4, TempDir: "/nonexistent/nave"})
	r := g.roundTrip(t, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789")
	if r.Status != 500 {
		t.Errorf("got %d, want 500", r.Status)
	}
	g.log.waitFor(t, "cannot buffer a request body")
	if r := g.roundTrip(t, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"); string(r.Body) != "abc" {
		t.Errorf("small body after: got %d %q", r.Status, r.Body)
	}
}

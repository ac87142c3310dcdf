package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"nave/internal/wiretest"
)

// Apps that answer with the request id they were given.
const (
	idWSGIApp = `def app(environ, start_response):
    body = environ.get("HTTP_X_REQUEST_ID", "none").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`
	idASGIApp = `async def app(scope, receive, send):
    ids = [v for k, v in scope["headers"] if k == b"x-request-id"]
    body = b",".join(ids) or b"none"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
`
)

// TestBinaryReopenOnSIGUSR1: logrotate renames the access log and sends
// SIGUSR1; every nave command then writes to a new file of the old name,
// and no record is lost or written twice.
func TestBinaryReopenOnSIGUSR1(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildNave(t)
	site := t.TempDir()
	os.WriteFile(filepath.Join(site, "index.html"), []byte("hi\n"), 0o644)
	app := writeApp(t, "app.py", idWSGIApp)
	os.WriteFile(filepath.Join(app, "asgiapp.py"), []byte(idASGIApp), 0o644)
	for _, tc := range []struct {
		name    string
		python  bool
		args    func(log string) []string
		serving *regexp.Regexp
	}{
		{"serve", false, func(log string) []string {
			return []string{"serve", "--listen", "127.0.0.1:0", "--access-log", log, site}
		}, servingLine},
		{"wsgi", true, func(log string) []string {
			return []string{"wsgi", "--listen", "127.0.0.1:0", "--python", testPython, "--chdir", app, "--access-log", log, "app:app"}
		}, wsgiServingLine},
		{"asgi", true, func(log string) []string {
			return []string{"asgi", "--listen", "127.0.0.1:0", "--python", testPython, "--chdir", app, "--access-log", log, "asgiapp:app"}
		}, asgiServingLine},
		{"run", true, func(log string) []string {
			dir := t.TempDir()
			conf := fmt.Sprintf("[listeners.main]\naddress = \"127.0.0.1:0\"\n[log]\naccess = %q\n[sites.s]\n[[sites.s.routes]]\nroot = %q\n", log, site)
			file := filepath.Join(dir, "nave.toml")
			os.WriteFile(file, []byte(conf), 0o644)
			return []string{"run", "--config", file, "--state-dir", shortTempDir(t)}
		}, listeningLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.python {
				needPython(t)
			}
			dir := t.TempDir()
			log, rotated := filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log.1")
			cmd := exec.Command(bin, tc.args(log)...)
			stdout, stderr := startCommand(t, cmd)
			addr := servingAddr(t, stdout, stderr, tc.serving)
			get := func(path string) {
				t.Helper()
				if got := exchange(t, addr, "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200 ") {
					t.Fatalf("GET %s: got %q", path, got)
				}
			}
			const n = 10
			for i := range n {
				get(fmt.Sprintf("/?before=%d", i))
			}
			if err := os.Rename(log, rotated); err != nil {
				t.Fatal(err)
			}
			cmd.Process.Signal(syscall.SIGUSR1)
			waitFor(t, "the reopen notice", func() bool { return strings.Contains(stderr.String(), "SIGUSR1: reopened") })
			for i := range n {
				get(fmt.Sprintf("/?after=%d", i))
			}
			cmd.Process.Signal(syscall.SIGTERM)
			waitExit(t, cmd)
			old, cur := readFile(t, rotated), readFile(t, log)
			all := old + cur
			for i := range n {
				for _, q := range []string{fmt.Sprintf("/?before=%d ", i), fmt.Sprintf("/?after=%d ", i)} {
					if c := strings.Count(all, q); c != 1 {
						t.Errorf("%s: %d records, want 1", q, c)
					}
				}
				if q := fmt.Sprintf("/?after=%d ", i); !strings.Contains(cur, q) {
					t.Errorf("%s: not in the new file %q", q, cur)
				}
			}
		})
	}
}

var traceID = regexp.MustCompile(`(?i)\r\nX-Request-ID: ([0-9a-f]{32})\r\n`)

// TestBinaryTrace: --trace shows what curl and nave said over HTTP/1.1
// and HTTP/2 (h2c), for the traced path only; the access log's format
// string shows the protocol and the request id nave generated.
func TestBinaryTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is missing: scripts/deps.sh installs it")
	}
	site := t.TempDir()
	os.MkdirAll(filepath.Join(site, "api"), 0o755)
	os.WriteFile(filepath.Join(site, "api", "data.txt"), []byte("twelve bytes"), 0o644)
	os.WriteFile(filepath.Join(site, "other.txt"), []byte("other"), 0o644)
	dir := t.TempDir()
	trace, access := filepath.Join(dir, "trace.txt"), filepath.Join(dir, "access.log")
	cmd := exec.Command(buildNave(t), "serve", "--listen", "127.0.0.1:0", "--trace="+trace, "--trace-path", "/api",
		"--access-log", access, "--log-format", "$request_method $uri $status $server_protocol id=$request_id", site)
	stdout, stderr := startCommand(t, cmd)
	addr := servingAddr(t, stdout, stderr, servingLine)
	var ids []string
	for _, args := range [][]string{{"--http1.1"}, {"--http2-prior-knowledge"}} {
		out, err := exec.Command(curl, append(args, "-si", "-H", "X-Request-ID: from-client", "http://"+addr+"/api/data.txt")...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		m := traceID.FindStringSubmatch(strings.ReplaceAll(string(out), "\r\n", "\n"))
		if m == nil {
			m = regexp.MustCompile(`(?i)\nx-request-id: ([0-9a-f]{32})\r?\n`).FindStringSubmatch(string(out))
		}
		if m == nil {
			t.Fatalf("curl %v: no generated X-Request-ID in %q (an untrusted client's is replaced)", args, out)
		}
		ids = append(ids, m[1])
		if out, err := exec.Command(curl, append(args, "-s", "http://"+addr+"/other.txt")...).CombinedOutput(); err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
	}
	if ids[0] == ids[1] {
		t.Errorf("two requests got the id %s", ids[0])
	}
	waitFor(t, "the whole trace", func() bool {
		return strings.Count(readFile(t, trace), "done:") >= 1 && strings.Contains(readFile(t, trace), "DATA")
	})
	got := readFile(t, trace)
	for _, want := range append(http1Trace("/api/data.txt", ids[0], 12),
		// HTTP/2 as frames, with the decoded fields.
		traceClient+`> h2 HEADERS stream=1 length=\d+ flags=END_STREAM\|END_HEADERS\n    :method: GET\n    :path: /api/data\.txt\n`,
		traceClient+`< h2 HEADERS stream=1 length=\d+ flags=END_HEADERS\n    :status: 200\n`,
		`    x-request-id: `+ids[1]+`\n`,
		traceClient+`< h2 DATA stream=1 length=12 flags=END_STREAM\n`,
	) {
		if !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("trace has no %s\n%s", want, got)
		}
	}
	for _, not := range []string{"other.txt", "SETTINGS", "from-client\n  "} {
		if strings.Contains(got, not) {
			t.Errorf("trace shows %q, outside --trace-path /api:\n%s", not, got)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, cmd)
	log := readFile(t, access)
	for _, want := range []string{
		"GET /api/data.txt 200 HTTP/1.1 id=" + ids[0] + "\n",
		"GET /api/data.txt 200 HTTP/2.0 id=" + ids[1] + "\n",
		"GET /other.txt 200 HTTP/2.0 id=",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("access log has no %q:\n%s", want, log)
		}
	}
}

// traceClient begins each entry of a trace: the time and the client.
const traceClient = `\d\d:\d\d:\d\d\.\d{6} 127\.0\.0\.1:\d+ `

// http1Trace is what a trace shows of an HTTP/1.1 GET of path, sent with
// Host 127.0.0.1:PORT and answered 200 with an n-byte body under request
// id id, as text: the request head, the response head, the end.
func http1Trace(path, id string, n int) []string {
	return []string{
		traceClient + `> HTTP/1\.1 request\n  GET ` + regexp.QuoteMeta(path) + ` HTTP/1\.1\n  Host: 127\.0\.0\.1:\d+\n`,
		traceClient + `< response \(\+\d+\.\d{3}ms\)\n  HTTP/1\.1 200 OK\n(  .*\n)*  X-Request-ID: ` + id + `\n`,
		traceClient + `< done: request body 0 bytes, response body ` + strconv.Itoa(n) + ` bytes, status 200`,
	}
}

// TestBinaryTraceToStderr: --trace without a file writes the trace to
// standard error, with the request and response heads TestBinaryTrace
// finds in a file.
func TestBinaryTraceToStderr(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	site := t.TempDir()
	os.WriteFile(filepath.Join(site, "hello.txt"), []byte("hello\n"), 0o644)
	cmd := exec.Command(buildNave(t), "serve", "--listen", "127.0.0.1:0", "--access-log", "off", "--trace", site)
	stdout, stderr := startCommand(t, cmd)
	addr := servingAddr(t, stdout, stderr, servingLine)
	got := exchange(t, addr, "GET /hello.txt HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n")
	m := traceID.FindStringSubmatch(got)
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || m == nil {
		t.Fatalf("got %q, want 200 with a generated X-Request-ID", got)
	}
	waitFor(t, "the trace's end on stderr", func() bool { return strings.Contains(stderr.String(), "< done: ") })
	trace := stderr.String()
	for _, want := range http1Trace("/hello.txt", m[1], len("hello\n")) {
		if !regexp.MustCompile(want).MatchString(trace) {
			t.Errorf("stderr has no %s\n%s", want, trace)
		}
	}
}

// TestBinaryRequestIDToApps: WSGI and ASGI apps get the request's id,
// the one they send back; a client's own is replaced (no trusted proxy).
func TestBinaryRequestIDToApps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	needPython(t)
	app := writeApp(t, "app.py", idWSGIApp)
	os.WriteFile(filepath.Join(app, "asgiapp.py"), []byte(idASGIApp), 0o644)
	for _, tc := range []struct {
		args    []string
		serving *regexp.Regexp
	}{
		{[]string{"wsgi", "--chdir", app, "app:app"}, wsgiServingLine},
		{[]string{"asgi", "--chdir", app, "asgiapp:app"}, asgiServingLine},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			args := append([]string{tc.args[0], "--listen", "127.0.0.1:0", "--python", testPython, "--access-log", "off"}, tc.args[1:]...)
			cmd := exec.Command(buildNave(t), args...)
			stdout, stderr := startCommand(t, cmd)
			addr := servingAddr(t, stdout, stderr, tc.serving)
			got := exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\nX-Request-ID: from-client\r\nConnection: close\r\n\r\n")
			m := traceID.FindStringSubmatch(got)
			if m == nil {
				t.Fatalf("no generated X-Request-ID in %q", got)
			}
			if !strings.HasSuffix(got, "\r\n\r\n"+m[1]) {
				t.Errorf("the app saw another id than %s: %q", m[1], got)
			}
		})
	}
}

// TestBinaryQueueWait: with one worker busy for 0.5 s, a request that
// arrives meanwhile waits for it, and the access log says so: of two
// requests sent together, the one served second waited at least most of
// the first one's 0.5 s (a lower bound the app's sleep enforces, not a
// timing guess), the first hardly at all.
func TestBinaryQueueWait(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	needPython(t)
	app := writeApp(t, "app.py", pidApp)
	access := filepath.Join(t.TempDir(), "access.log")
	cmd := exec.Command(buildNave(t), "wsgi", "--listen", "127.0.0.1:0", "--python", testPython, "--chdir", app,
		"--workers", "1", "--access-log", access, "--log-format", "json", "app:app")
	stdout, stderr := startCommand(t, cmd)
	addr := servingAddr(t, stdout, stderr, wsgiServingLine)
	conns := []*wiretest.Conn{wiretest.Dial(t, addr), wiretest.Dial(t, addr)}
	for _, c := range conns {
		c.Send("GET /sleep?0.5 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	}
	for _, c := range conns {
		if got := string(c.ReadAll()); !strings.HasPrefix(got, "HTTP/1.1 200 ") {
			t.Fatalf("got %q", got)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, cmd)
	var waits []float64
	for line := range strings.SplitSeq(strings.TrimSpace(readFile(t, access)), "\n") {
		var rec struct {
			QueueMS float64 `json:"queue_ms"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%v in %q", err, line)
		}
		waits = append(waits, rec.QueueMS)
	}
	slices.Sort(waits)
	if len(waits) != 2 || waits[1] < 300 || waits[0] >= waits[1] {
		t.Errorf("queue_ms of the two requests: got %v, want one of 300 or more and one less", waits)
	}
}

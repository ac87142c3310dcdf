package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"nave/internal/config"
	"nave/internal/wiretest"
)

// TestASGIUsageNamesEveryFlag: nave asgi --help names each of its flags.
func TestASGIUsageNamesEveryFlag(t *testing.T) {
	if _, err := parseASGI([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: got %v", err)
	}
	for _, name := range []string{"lifespan", "loop", "limit-concurrency", "ws-max-message", "ws-ping-interval",
		"python", "chdir", "workers", "mount", "static", "timeout", "max-requests", "backlog", "start-timeout"} {
		if !strings.Contains(asgiUsage, "--"+name+" ") {
			t.Errorf("nave asgi --help does not mention --%s", name)
		}
	}
}

func TestParseASGI(t *testing.T) {
	o, err := parseASGI([]string{"--lifespan", "on", "--loop", "asyncio", "--native", "off", "--limit-concurrency", "8",
		"--ws-max-message", "1m", "--ws-ping-interval", "5s", "--workers", "3", "--timeout", "0", "main:app"})
	if err != nil {
		t.Fatal(err)
	}
	a := o.config().Apps[appName]
	if a.Interface != "asgi" || a.Module != "main:app" || a.Lifespan != "on" || a.Loop != "asyncio" || a.Native != "off" ||
		a.LimitConcurrency != 8 || a.WSMaxMessage != 1<<20 || a.WSPingInterval.D() != 5*time.Second || a.Workers != 3 {
		t.Errorf("config app: got %+v", a)
	}
	cfg := asgiConfig(a, "python3", -1, nil)
	if cfg.Native != "off" || cfg.WSMaxMessage != 1<<20 || cfg.WSPingInterval != 5*time.Second || cfg.LimitConcurrency != 8 || cfg.Timeout != -1 {
		t.Errorf("asgi.Config: got %+v", cfg)
	}
	for _, bad := range [][]string{
		{"--lifespan", "maybe", "m:a"}, {"--loop", "trio", "m:a"}, {"--native", "yes", "m:a"}, {"--limit-concurrency", "0", "m:a"},
		{"--ws-max-message", "lots", "m:a"}, {"--ws-ping-interval", "-1s", "m:a"}, {"m:a", "n:b"}, {":app"},
	} {
		if _, err := parseASGI(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

const fastapiApp = `from fastapi import FastAPI
app = FastAPI()

@app.get("/hello/{name}")
async def hello(name: str, q: str = ""):
    return {"hello": name, "q": q}
`

// TestBinaryASGIFastAPI: nave asgi serves a FastAPI app over HTTP/1.1,
// and over h2 with TLS and h2c, as curl sees it.
func TestBinaryASGIFastAPI(t *testing.T) {
	lookTool(t, "curl", "curl")
	needPython(t)
	dir := writeApp(t, "main.py", fastapiApp)
	common := []string{"asgi", "--python", testPython, "--chdir", dir, "--workers", "2", "--listen", "127.0.0.1:0", "--access-log", "off"}
	overTLS := startH2(t, append(common, "--tls-self-signed", "main:app")...)
	clear := startH2(t, append(common, "main:app")...)
	want := `{"hello":"nave","q":"x"}`
	resp, err := http.Get(clear.base + "/hello/nave?q=x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/1.1" || string(body) != want {
		t.Errorf("HTTP/1.1: got %d %s %q, want 200 %q", resp.StatusCode, resp.Proto, body, want)
	}
	for _, s := range []*h2Server{overTLS, clear} {
		got, body := curlGet(t, s, "/hello/nave?q=x")
		if got != "2 200 " || string(body) != want {
			t.Errorf("%s: got %q %q, want HTTP/2 200 %q", s.base, got, body, want)
		}
		if got, _ := curlGet(t, s, "/nowhere"); got != "2 404 " {
			t.Errorf("%s /nowhere: got %q, want HTTP/2 404", s.base, got)
		}
	}
}

const lifespanFailApp = `async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database at db:5432"})
`

// TestBinaryASGILifespanFails: a lifespan startup that fails is one clear
// error line and exit 1 at start, with no restart loop.
func TestBinaryASGILifespanFails(t *testing.T) {
	needPython(t)
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := writeApp(t, "main.py", lifespanFailApp)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, buildNave(t), "asgi", "--python", testPython, "--chdir", dir, "--workers", "2",
		"--listen", "127.0.0.1:0", "main:app")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("got %v, want exit status 1; stderr %q", err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	if want := "nave asgi: worker for app 'main:app' did not start: lifespan startup failed: no database at db:5432"; last != want {
		t.Errorf("last line: got %q, want %q (stderr %q)", last, want, stderr.String())
	}
	if n := strings.Count(stderr.String(), "retrying"); n > 0 {
		t.Errorf("a restart loop: %q", stderr.String())
	}
}

const starletteRunApp = `from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def hello(request):
    return JSONResponse({"asgi": request.scope["path"], "root_path": request.scope["root_path"]})

app = Starlette(routes=[Route("/fast/hello", hello)])
`

const wsgiRunApp = `def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("wsgi %s %s" % (environ["SCRIPT_NAME"], environ["PATH_INFO"])).encode()]
`

// TestBinaryRunWSGIAndASGI: nave run serves a WSGI app and an ASGI app
// on two routes of one site.
func TestBinaryRunWSGIAndASGI(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{"asgiapp/main.py": starletteRunApp, "wsgiapp/main.py": wsgiRunApp} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644)
	}
	addr := startRun(t, dir, `
[listeners.main]
address = "127.0.0.1:0"
[log]
access = "off"
[apps.fast]
interface = "asgi"
module = "main:app"
chdir = "asgiapp"
python = "`+testPython+`"
workers = 1
lifespan = "off"
limit_concurrency = 50
[apps.old]
module = "main:app"
chdir = "wsgiapp"
python = "`+testPython+`"
workers = 1
[sites.s]
[[sites.s.routes]]
match.path = "/fast/"
app = "fast"
[[sites.s.routes]]
app = "old"
`)
	for path, want := range map[string]string{
		"/fast/hello": `{"asgi":"/fast/hello","root_path":"/fast"}`,
		"/legacy/x":   "wsgi  /legacy/x",
	} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("%s: got %d %q, want 200 %q", path, resp.StatusCode, body, want)
		}
	}
}

const signalsASGIApp = `import asyncio, os

VERSION = "v1"

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                with open(os.environ["MARKER"], "a") as f:
                    f.write("shutdown %d\n" % os.getpid())
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/sleep":
        await asyncio.sleep(0.5)
    body = ("%s %d" % (VERSION, os.getpid())).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
`

// TestBinaryASGISignals: SIGHUP starts new workers with the new code
// before the old ones go, and keeps the old ones when the code does not
// import; SIGTERM lets a request in flight finish, runs every worker's
// lifespan shutdown, and exits 0.
func TestBinaryASGISignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	needPython(t)
	dir := writeApp(t, "main.py", signalsASGIApp)
	marker := filepath.Join(t.TempDir(), "marker")
	bin := buildNave(t)
	cmd := exec.Command(bin, "asgi", "--listen", "127.0.0.1:0", "--python", testPython, "--access-log", "off",
		"--workers", "2", "--chdir", dir, "main:app")
	cmd.Env = append(os.Environ(), "MARKER="+marker)
	stdout, stderr := startCommand(t, cmd)
	addr := servingAddr(t, stdout, stderr, asgiServingLine)
	get := func(path string) string {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	old := childPIDs(t, cmd.Process.Pid)
	if len(old) != 2 {
		t.Fatalf("workers %v, want 2", old)
	}
	os.WriteFile(filepath.Join(dir, "main.py"), []byte(strings.Replace(signalsASGIApp, `"v1"`, `"v2"`, 1)), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.HasPrefix(get("/"), "v2 ") {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not load the new code; got %q", get("/"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The old workers ran their lifespan shutdown once the new ones served.
	for _, p := range old {
		for !strings.Contains(readFile(t, marker), "shutdown "+strconv.Itoa(p)) {
			if time.Now().After(deadline) {
				t.Fatalf("old worker %d: no lifespan shutdown; marker %q", p, readFile(t, marker))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// They exit after their shutdown: the workers kept across the failed
	// reload below are the new ones alone.
	current := childPIDs(t, cmd.Process.Pid)
	for slices.ContainsFunc(current, func(p int) bool { return slices.Contains(old, p) }) {
		if time.Now().After(deadline) {
			t.Fatalf("old workers %v still running: %v", old, current)
		}
		time.Sleep(20 * time.Millisecond)
		current = childPIDs(t, cmd.Process.Pid)
	}

	os.WriteFile(filepath.Join(dir, "main.py"), []byte("import no_such_module\n"), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	for !strings.Contains(stderr.String(), "reload failed; the old workers keep serving") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload failure logged; stderr %q", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := get("/"); !strings.HasPrefix(got, "v2 ") {
		t.Errorf("after a failed reload: got %q", got)
	}
	if got := childPIDs(t, cmd.Process.Pid); !slices.Equal(sortedInts(got), sortedInts(current)) {
		t.Errorf("workers after a failed reload: got %v, want %v kept", got, current)
	}

	c := wiretest.Dial(t, addr)
	c.Send("GET /sleep HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(150 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	if got := c.ReadAll(); !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.Contains(got, []byte("\r\n\r\nv2 ")) {
		t.Errorf("in flight at SIGTERM: got %q", got)
	}
	waitExit(t, cmd)
	for _, p := range current {
		if !strings.Contains(readFile(t, marker), "shutdown "+strconv.Itoa(p)) {
			t.Errorf("worker %d: no lifespan shutdown at SIGTERM; marker %q", p, readFile(t, marker))
		}
	}
}

var asgiServingLine = regexp.MustCompile(`Serving ASGI app \S+ \(\d+ workers?, Python 3\.\d+\.\d+ uvloop at \S+\) on .* \(http://(127\.0\.0\.1:\d+)/\)`)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, _ := os.ReadFile(name)
	return string(b)
}

func sortedInts(s []int) []int {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

const pidASGIApp = `import os

async def app(scope, receive, send):
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
`

// TestApplyASGIApp: a config reload keeps an unchanged ASGI app's warm
// workers, and replaces a changed one's, new first.
func TestApplyASGIApp(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "api"), 0o755)
	os.WriteFile(filepath.Join(dir, "api", "main.py"), []byte(pidASGIApp), 0o644)
	conf := func(respond string, limit int) *config.Config {
		c, err := config.Parse([]byte(fmt.Sprintf(`
[listeners.main]
address = "127.0.0.1:0"
[log]
access = "off"
[apps.api]
interface = "asgi"
module = "main:app"
python = %q
chdir = "api"
workers = 2
lifespan = "off"
limit_concurrency = %d
[sites.s]
[[sites.s.routes]]
match.path = "/gen"
respond = %q
[[sites.s.routes]]
app = "api"
`, testPython, limit, respond)), config.TOML, dir)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	b := startLive(t, conf("one", 10))
	addr := b.addr("main")
	before := children(t) // the workers
	if len(before) != 2 {
		t.Fatalf("workers %v, want 2", before)
	}
	if err := b.apply(conf("two", 10)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, addr, "/gen"); got != "two" {
		t.Errorf("/gen after the apply: %q", got)
	}
	if got := children(t); !slices.Equal(got, before) {
		t.Errorf("an unchanged ASGI app: workers %v, were %v", got, before)
	}
	if err := b.apply(conf("two", 20)); err != nil {
		t.Fatal(err)
	}
	// Its new workers serve from the apply on.
	for range 10 {
		if p := mustGet(t, addr, "/"); slices.Contains(before, p) {
			t.Errorf("a changed ASGI app answered from old worker %s", p)
		}
	}
	waitFor(t, "the old workers exit", func() bool { return !slices.ContainsFunc(before, alive) })
}

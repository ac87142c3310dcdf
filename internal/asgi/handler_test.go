package asgi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"nave/internal/asgi"
	"nave/internal/server"
	"nave/internal/web"
	"nave/internal/wiretest"
)

// python is the interpreter the tests use: Debian's, with python3-uvloop
// and python3-fastapi (scripts/deps.sh installs them).
const python = "/usr/bin/python3"

// serveApp starts a worker for cfg (App in testdata/apps) and a server in
// front of it on a loopback port, in the mode the environment asks for
// (HTTP/2, TLS: see wiretest), both stopped when the test ends. Requests
// under /mnt are served with the handler mounted there.
func serveApp(t *testing.T, cfg asgi.Config) (*wiretest.Server, *asgi.Handler, *syncLog) {
	t.Helper()
	mount, h, log, logger := startApp(t, cfg)
	srv := wiretest.Serve(t, server.New(server.Config{Handler: mount, Logger: logger}))
	return srv, h, log
}

// startApp starts a worker for cfg (App in testdata/apps unless cfg.Dir
// says where), stopped when the test ends, and returns the handler that
// mounts it at /mnt for requests under /mnt.
func startApp(t *testing.T, cfg asgi.Config) (web.Handler, *asgi.Handler, *syncLog, *slog.Logger) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Python worker")
	}
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is missing: run scripts/deps.sh", python)
	}
	dir, err := filepath.Abs("testdata/apps")
	if err != nil {
		t.Fatal(err)
	}
	return startAppIn(t, cfg, dir)
}

// serveAppIn is serveApp with the app in dir.
func serveAppIn(t *testing.T, cfg asgi.Config, dir string) (*wiretest.Server, *asgi.Handler, *syncLog) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Python worker")
	}
	cfg.Dir = dir
	mount, h, log, logger := startAppIn(t, cfg, dir)
	srv := wiretest.Serve(t, server.New(server.Config{Handler: mount, Logger: logger}))
	return srv, h, log
}

// startAppIn is startApp with the app in dir unless cfg.Dir says where.
func startAppIn(t *testing.T, cfg asgi.Config, dir string) (web.Handler, *asgi.Handler, *syncLog, *slog.Logger) {
	t.Helper()
	t.Setenv("PYTHONDONTWRITEBYTECODE", "1")
	log := &syncLog{}
	logger := slog.New(slog.NewTextHandler(lockedWriter{&log.mu, &log.buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Dir == "" {
		cfg.Dir = dir
	}
	if cfg.Native == "" {
		// scripts/test.sh runs the package again with "off": adapter.py
		// alone passes every test too.
		cfg.Native = os.Getenv("NAVE_TEST_ASGI_NATIVE")
	}
	cfg.Python, cfg.Logger = python, logger
	if cfg.Workers == 0 {
		cfg.Workers = 1 // the apps keep their results in the worker's memory
	}
	h := asgi.New(cfg)
	if err := h.Start(); err != nil {
		if se, ok := err.(*asgi.StartError); ok {
			t.Fatalf("Start: %v\n%s", err, se.Output)
		}
		t.Fatalf("Start: %v", err)
	}
	// Cleanups run last first: the server closes, then the worker stops.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if t.Failed() {
			t.Logf("log:\n%s", log)
		}
	})
	mount := web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		if bytes.HasPrefix(r.Path, []byte("/mnt/")) {
			r.SetMount(len("/mnt"))
		}
		h.Serve(w, r)
	})
	return mount, h, log, logger
}

// syncLog is the test's log, written by the server's goroutines.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func roundTrip(t *testing.T, srv *wiretest.Server, raw string) *wiretest.Response {
	t.Helper()
	c := srv.Dial(t)
	defer c.Close()
	c.Send(raw)
	method, _, _ := strings.Cut(raw, " ")
	return c.Read(method)
}

func get(t *testing.T, srv *wiretest.Server, target string) *wiretest.Response {
	t.Helper()
	return roundTrip(t, srv, "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n")
}

// TestEcho: a body of 1 MiB, streamed to the app in chunks of at most
// 64 KiB, back whole.
func TestEcho(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "apps:app"})
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	c := srv.Dial(t)
	defer c.Close()
	c.Send(fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	r := c.ReadWhole("POST")
	if r.Status != 200 || !bytes.Equal(r.Body, body) {
		t.Fatalf("got %d with %d bytes, want 200 with the %d sent", r.Status, len(r.Body), len(body))
	}
	if n, _ := strconv.Atoi(r.Get("X-Chunks")); n < len(body)/(64<<10) {
		t.Errorf("receive() calls: got %d, want at least %d (chunks of at most 64 KiB)", n, len(body)/(64<<10))
	}
}

// TestConcurrentInOneWorker: a hundred requests whose app sleeps 50 ms
// finish in about the time of one, so they ran at once in the worker.
func TestConcurrentInOneWorker(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "apps:app"})
	const n = 100
	client := srv.HTTPClient(t)
	client.Transport.(*http.Transport).MaxConnsPerHost = n
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = n
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(srv.URL("/sleep"))
			if err != nil {
				errs <- err
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && (resp.StatusCode != 200 || string(body) != "slept") {
				err = fmt.Errorf("got %d %q, want 200 slept", resp.StatusCode, body)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Each answers "slept" only once all n are in flight in the worker at
	// once (apps.py's barrier); one at a time, each would wait 10 s and
	// answer "alone", which fails above.
}

func TestFastAPI(t *testing.T) {
	if _, err := os.Stat("/usr/lib/python3/dist-packages/fastapi"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-fastapi is missing: run scripts/deps.sh")
		}
		t.Skip("python3-fastapi is missing: run scripts/deps.sh")
	}
	srv, _, _ := serveApp(t, asgi.Config{App: "fastapi_hello:app"})
	r := roundTrip(t, srv, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r.Status != 200 || string(r.Body) != "Hello, World!" || !strings.HasPrefix(r.Get("Content-Type"), "text/plain") {
		t.Errorf("GET /: got %q %q", r.Head, r.Body)
	}
	r = roundTrip(t, srv, "GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
	if r.Status != 200 || string(r.Body) != `{"message":"Hello, World!"}` {
		t.Errorf("GET /json: got %q %q", r.Head, r.Body)
	}
	// A plain def endpoint runs in anyio's thread pool, which needs the
	// request to run in an asyncio Task (sniffio asks for the current one).
	r = roundTrip(t, srv, "GET /sync HTTP/1.1\r\nHost: x\r\n\r\n")
	if r.Status != 200 || string(r.Body) != `{"sync":true}` {
		t.Errorf("GET /sync: got %q %q", r.Head, r.Body)
	}
	r = roundTrip(t, srv, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\": 1}")
	if r.Status != 200 || string(r.Body) != `{"a":1}` {
		t.Errorf("POST /echo: got %q %q", r.Head, r.Body)
	}
	r = roundTrip(t, srv, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
	if r.Status != 404 {
		t.Errorf("GET /missing: got %d, want 404", r.Status)
	}
}

func TestStarlette(t *testing.T) {
	srv, _, _ := serveApp(t, asgi.Config{App: "starlette_app:app"})
	starletteChecks(t, srv)
}

// starletteChecks runs starlette_app's routes through srv; the
// spec-checked runs call it too.
func starletteChecks(t *testing.T, srv *wiretest.Server) {
	if r := get(t, srv, "/"); r.Status != 200 || string(r.Body) != "Hello from Starlette" {
		t.Errorf("GET /: got %d %q", r.Status, r.Body)
	}
	if r := get(t, srv, "/state"); !strings.Contains(string(r.Body), `"started":"yes"`) {
		t.Errorf("lifespan state: got %q", r.Body)
	}
	// Mounted, Starlette 0.26 does not route: it predates the spec's
	// word that path includes root_path, which nave follows (as uvicorn
	// 0.26 and later do).
	body := strings.Repeat("s", 300<<10)
	r := roundTrip(t, srv, fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	if string(r.Body) != strconv.Itoa(len(body)) {
		t.Errorf("upload: got %q, want %d", r.Body, len(body))
	}
	if r := get(t, srv, "/stream"); string(r.Body) != "part 0\npart 1\npart 2\n" {
		t.Errorf("stream: got %q %q", r.Head, r.Body)
	}
	if r := get(t, srv, "/file"); string(r.Body) != "a file sent by path\n" || r.Get("Content-Length") != "20" {
		t.Errorf("file: got %q %q", r.Head, r.Body)
	}
}

func TestDjango(t *testing.T) {
	if _, err := os.Stat("/usr/lib/python3/dist-packages/django"); err != nil {
		t.Skip("python3-django is missing")
	}
	srv, _, _ := serveApp(t, asgi.Config{App: "django_app:app"})
	djangoChecks(t, srv)
}

// djangoChecks runs django_app's views through srv; the spec-checked
// runs call it too.
func djangoChecks(t *testing.T, srv *wiretest.Server) {
	if r := get(t, srv, "/"); r.Status != 200 || string(r.Body) != "Hello from Django" {
		t.Errorf("GET /: got %d %q", r.Status, r.Body)
	}
	r := roundTrip(t, srv, "POST /echo?q=%C3%A9 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nbody")
	if want := `{"method": "POST", "path": "/echo", "script_name": "", "body": "body", "query": "\u00e9"}`; string(r.Body) != want {
		t.Errorf("POST /echo: got %q, want %q", r.Body, want)
	}
	if r := get(t, srv, "/sync"); string(r.Body) != "sync view" {
		t.Errorf("sync view: got %d %q", r.Status, r.Body)
	}
	if r := get(t, srv, "/missing"); r.Status != 404 {
		t.Errorf("GET /missing: got %d, want 404", r.Status)
	}
}

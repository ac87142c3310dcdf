package wsgi_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"nave/internal/route"
	"nave/internal/server"
	"nave/internal/wiretest"
	"nave/internal/wsgi"
)

// python is the interpreter the tests use: Debian's, with python3-flask,
// python3-django and python3-pyramid (scripts/deps.sh installs them).
const python = "/usr/bin/python3"

// clientTimeout bounds the waits the tests make themselves (a log line, a
// pending response, wsgiref starting), so that a server that fails
// to answer fails the test instead of hanging it.
const clientTimeout = 15 * time.Second

func needPython(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Python workers")
	}
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is missing: run scripts/deps.sh", python)
	}
	// Workers inherit it: no __pycache__ folders in testdata.
	t.Setenv("PYTHONDONTWRITEBYTECODE", "1")
}

// logBuffer collects the log, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls the log until it contains s.
func (l *logBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(clientTimeout)
	for !strings.Contains(l.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("log has no %q:\n%s", s, l.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gateway is a pool and a server in front of it, on a loopback port: its
// Server dials in the mode it serves.
type gateway struct {
	*wiretest.Server
	pool *wsgi.Pool
	log  *logBuffer
	srv  *server.Server
}

func appsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/apps")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// startGateway starts a pool for cfg (defaults: the test apps' folder,
// /usr/bin/python3, one worker) and serves it until the test ends, in the
// clear or over TLS as wiretest.TLSMode says.
func startGateway(t *testing.T, cfg wsgi.Config, hcfg wsgi.HandlerConfig) *gateway {
	t.Helper()
	return startMounted(t, cfg, hcfg, "")
}

// startMounted is startGateway with the app mounted at prefix.
func startMounted(t *testing.T, cfg wsgi.Config, hcfg wsgi.HandlerConfig, prefix string) *gateway {
	t.Helper()
	return startWith(t, cfg, hcfg, prefix, wiretest.TLSMode())
}

// startWith is startMounted in the mode useTLS says, whatever the run's.
func startWith(t *testing.T, cfg wsgi.Config, hcfg wsgi.HandlerConfig, prefix string, useTLS bool) *gateway {
	t.Helper()
	needPython(t)
	g := &gateway{log: new(logBuffer)}
	logger := slog.New(slog.NewTextHandler(g.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Python == "" {
		cfg.Python = python
	}
	if cfg.Dir == "" {
		cfg.Dir = appsDir(t)
	}
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	cfg.Logger = logger
	hcfg.Logger = logger
	g.pool = wsgi.New(cfg)
	if err := g.pool.Start(); err != nil {
		var se *wsgi.StartError
		if errors.As(err, &se) {
			t.Fatalf("Start: %v\n%s", err, se.Output)
		}
		t.Fatalf("Start: %v", err)
	}
	// Runs after the server's cleanup, which ServeMode registers later.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.pool.Stop(ctx); err != nil {
			t.Errorf("pool Stop: %v", err)
		}
		if t.Failed() {
			t.Logf("log:\n%s", g.log.String())
		}
	})
	table, err := route.New([]route.Mount{{Prefix: prefix, Handler: wsgi.NewHandler(g.pool, hcfg)}})
	if err != nil {
		t.Fatal(err)
	}
	g.srv = server.New(server.Config{Handler: table, Logger: logger})
	g.Server = wiretest.ServeMode(t, g.srv, useTLS)
	return g
}

// roundTrip sends raw on a new connection and reads one response; a body
// cut short is reported in Closed.
func (g *gateway) roundTrip(t *testing.T, raw string) *wiretest.Response {
	t.Helper()
	c := g.Dial(t)
	c.Send(raw)
	method, _, _ := strings.Cut(raw, " ")
	return c.Read(method)
}

// protocol is SERVER_PROTOCOL as nave gives it in the mode g serves:
// over HTTP/2 it is web.HTTP2.String(), "HTTP/2.0", as Apache's mod_http2
// and nginx's $server_protocol say it.
func (g *gateway) protocol() string {
	if g.H2 {
		return "HTTP/2.0"
	}
	return "HTTP/1.1"
}

// get fetches path with a plain GET.
func (g *gateway) get(t *testing.T, path string) *wiretest.Response {
	t.Helper()
	return g.roundTrip(t, "GET "+path+" HTTP/1.1\r\nHost: test\r\n\r\n")
}

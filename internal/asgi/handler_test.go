package asgi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"nave/internal/asgi"
	"nave/internal/server"
	"nave/internal/wiretest"
)

// python is the interpreter the tests use: Debian's, with python3-uvloop
// and python3-fastapi (scripts/deps.sh installs them).
const python = "/usr/bin/python3"

// serveApp starts a worker for app (in testdata/apps) and a server in front
// of it on a loopback port, both stopped when the test ends.
func serveApp(t *testing.T, app string) (addr string, log *bytes.Buffer) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Python worker")
	}
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is missing: run scripts/deps.sh", python)
	}
	t.Setenv("PYTHONDONTWRITEBYTECODE", "1")
	dir, err := filepath.Abs("testdata/apps")
	if err != nil {
		t.Fatal(err)
	}
	log = new(bytes.Buffer)
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, log}, nil))
	h := asgi.New(asgi.Config{App: app, Dir: dir, Python: python, Logger: logger})
	if err := h.Start(); err != nil {
		if se, ok := err.(*asgi.StartError); ok {
			t.Fatalf("Start: %v\n%s", err, se.Output)
		}
		t.Fatalf("Start: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Handler: h, Logger: logger})
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := h.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("log:\n%s", log)
			mu.Unlock()
		}
	})
	return ln.Addr().String(), log
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

func roundTrip(t *testing.T, addr, raw string) *wiretest.Response {
	t.Helper()
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send(raw)
	method, _, _ := strings.Cut(raw, " ")
	return c.Read(method)
}

func TestApps(t *testing.T) {
	addr, _ := serveApp(t, "apps:app")
	t.Run("hello", func(t *testing.T) {
		r := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if r.Status != 200 || string(r.Body) != "Hello, World!" || r.Get("Content-Type") != "text/plain" || r.Get("Content-Length") != "13" {
			t.Errorf("got %d %q %q, want 200 with Hello, World!", r.Status, r.Head, r.Body)
		}
	})
	t.Run("stream", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		defer c.Close()
		c.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
		r := c.ReadHead()
		if r.Status != 200 || r.Get("Transfer-Encoding") != "chunked" {
			t.Fatalf("got head %q, want 200 chunked", r.Head)
		}
		// Each chunk arrives on its own, flushed as the app sent it.
		for i := range 3 {
			size, _ := c.Reader().ReadString('\n')
			data, _ := c.Reader().ReadString('\n')
			c.Reader().ReadString('\n')
			if want := fmt.Sprintf("chunk %d\n", i); size != "8\r\n" || data != want {
				t.Errorf("chunk %d: got %q %q, want %q", i, size, data, want)
			}
		}
		if end, _ := c.Reader().ReadString('\n'); end != "0\r\n" {
			t.Errorf("got %q, want the last chunk", end)
		}
	})
	t.Run("echo_1MiB", func(t *testing.T) {
		body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
		c := wiretest.Dial(t, addr)
		defer c.Close()
		c.Send(fmt.Sprintf("POST /echo/%%C3%%A9t%%C3%%A9?a=1&b=%%20 HTTP/1.1\r\nHost: x\r\nX-Mixed-Case: V\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
		r := c.ReadWhole("POST")
		if r.Status != 200 || !bytes.Equal(r.Body, body) {
			t.Fatalf("got %d with %d bytes, want 200 with the %d sent", r.Status, len(r.Body), len(body))
		}
		if got := r.Get("X-Chunks"); got != "4" {
			t.Errorf("receive() calls: got %s, want 4 (256 KiB chunks)", got)
		}
		if got, want := r.Get("X-Scope"), `POST /echo/été b'/echo/%C3%A9t%C3%A9' b'a=1&b=%20' 1.1 http ''`; got != want {
			t.Errorf("scope: got %q, want %q", got, want)
		}
		if got, want := r.Get("X-Headers"), `[(b'host', b'x'), (b'x-mixed-case', b'V'), (b'content-length', b'1048576')]`; got != want {
			t.Errorf("headers: got %q, want %q", got, want)
		}
		if got, want := r.Get("X-Client"), "('str', 'int')"; got != want {
			t.Errorf("client: got %q, want %q", got, want)
		}
	})
	t.Run("raise_before_start", func(t *testing.T) {
		r := roundTrip(t, addr, "GET /raise-before HTTP/1.1\r\nHost: x\r\n\r\n")
		if r.Status != 500 {
			t.Errorf("got %d, want 500", r.Status)
		}
	})
	t.Run("raise_after_start", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		defer c.Close()
		c.Send("GET /raise-after HTTP/1.1\r\nHost: x\r\n\r\n")
		r := c.Read("GET")
		if r.Status != 200 || !r.Closed || string(r.Body) != "partial" {
			t.Errorf("got %d closed=%v body %q, want 200, the connection closed after \"partial\"", r.Status, r.Closed, r.Body)
		}
	})
	t.Run("after_errors_still_serves", func(t *testing.T) {
		r := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if r.Status != 200 {
			t.Errorf("got %d, want 200", r.Status)
		}
	})
}

// TestConcurrentInOneWorker: a hundred requests whose app sleeps 50 ms
// finish in about the time of one, so they ran at once in the worker.
func TestConcurrentInOneWorker(t *testing.T) {
	addr, _ := serveApp(t, "apps:app")
	const n = 100
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get("http://" + addr + "/sleep")
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
	addr, _ := serveApp(t, "fastapi_hello:app")
	r := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r.Status != 200 || string(r.Body) != "Hello, World!" || !strings.HasPrefix(r.Get("Content-Type"), "text/plain") {
		t.Errorf("GET /: got %q %q", r.Head, r.Body)
	}
	r = roundTrip(t, addr, "GET /json HTTP/1.1\r\nHost: x\r\n\r\n")
	if r.Status != 200 || string(r.Body) != `{"message":"Hello, World!"}` {
		t.Errorf("GET /json: got %q %q", r.Head, r.Body)
	}
	// A plain def endpoint runs in anyio's thread pool, which needs the
	// request to run in an asyncio Task (sniffio asks for the current one).
	r = roundTrip(t, addr, "GET /sync HTTP/1.1\r\nHost: x\r\n\r\n")
	if r.Status != 200 || string(r.Body) != `{"sync":true}` {
		t.Errorf("GET /sync: got %q %q", r.Head, r.Body)
	}
	r = roundTrip(t, addr, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\": 1}")
	if r.Status != 200 || string(r.Body) != `{"a":1}` {
		t.Errorf("POST /echo: got %q %q", r.Head, r.Body)
	}
	r = roundTrip(t, addr, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
	if r.Status != 404 {
		t.Errorf("GET /missing: got %d, want 404", r.Status)
	}
}

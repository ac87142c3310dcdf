package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"nave/internal/web"
)

// clientTimeout bounds every client read and write, so that a server that
// fails to answer fails the test instead of hanging it.
const clientTimeout = 5 * time.Second

// startServer serves cfg on a fresh loopback port until the test ends.
func startServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, cfg, ln), ln.Addr().String()
}

// serveOn runs Serve on ln; the cleanup Closes the server and checks that
// Serve returned ErrServerClosed.
func serveOn(t *testing.T, cfg Config, ln net.Listener) *Server {
	t.Helper()
	s := New(cfg)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s
}

// client is one raw loopback connection to the server under test.
type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	nc.SetDeadline(time.Now().Add(clientTimeout))
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *client) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, raw); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// response is a response read off the wire, with its whole body.
type response struct {
	status int
	header http.Header
	body   string
	close  bool // the server announced it closes after this response
}

// read parses the next response to a request with the given method.
func (c *client) read(method string) response {
	c.t.Helper()
	r, err := c.tryRead(method)
	if err != nil {
		c.t.Fatalf("reading response: %v", err)
	}
	return r
}

func (c *client) tryRead(method string) (response, error) {
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		return response{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return response{}, fmt.Errorf("body: %w", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(body), close: resp.Close}, nil
}

// readHead reads a response head as raw lines, without the final empty
// line, and returns the status line and the field lines minus Date.
func (c *client) readHead() (status string, fields []string) {
	c.t.Helper()
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading head: %v (after %q, %q)", err, status, fields)
		}
		if !strings.HasSuffix(line, "\r\n") {
			c.t.Fatalf("head line %q does not end in CRLF", line)
		}
		line = strings.TrimSuffix(line, "\r\n")
		switch {
		case line == "":
			return status, fields
		case status == "":
			status = line
		case !strings.HasPrefix(line, "Date: "):
			fields = append(fields, line)
		}
	}
}

// readRest reads until the server closes the connection.
func (c *client) readRest() string {
	c.t.Helper()
	b, err := io.ReadAll(c.br)
	if err != nil {
		c.t.Fatalf("reading to EOF: %v (got %q)", err, b)
	}
	return string(b)
}

// expectEOF checks that the server closed the connection with nothing more
// to say. A reset counts as closed: the server may close with request
// bytes still unread.
func (c *client) expectEOF() {
	c.t.Helper()
	b, err := io.ReadAll(c.br)
	if len(b) > 0 {
		c.t.Fatalf("got %q before EOF, want nothing", b)
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		c.t.Fatalf("got %v, want EOF", err)
	}
}

// echo answers with the method, path, body length and a body digest. A
// body that fails to read gets the status web.StatusOf gives.
func echo(w *web.ResponseWriter, r *web.Request) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	if err != nil {
		status, _ := web.StatusOf(err)
		w.WriteHeader(status)
		fmt.Fprintf(w, "body: %v\n", err)
		return
	}
	fmt.Fprintf(w, "%s %s %d %x\n", r.Method, r.Path, n, h.Sum(nil)[:8])
}

// echoLine is what echo answers for a body read in full.
func echoLine(method, path, body string) string {
	sum := sha256.Sum256([]byte(body))
	return fmt.Sprintf("%s %s %d %x\n", method, path, len(body), sum[:8])
}

// gate is a handler that blocks until released, counting the requests
// that have reached it; requests for /fast pass at once.
type gate struct {
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate() *gate {
	return &gate{arrived: make(chan struct{}, 100), release: make(chan struct{})}
}

// startGated starts a server whose handler is g. g is opened at cleanup
// before the server is closed, since Close waits for handlers.
func startGated(t *testing.T, g *gate) (*Server, string) {
	t.Helper()
	s, addr := startServer(t, Config{Handler: g})
	t.Cleanup(g.open)
	return s, addr
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

func (g *gate) Serve(w *web.ResponseWriter, r *web.Request) {
	if string(r.Path) == "/fast" {
		w.WriteString("fast\n")
		return
	}
	g.arrived <- struct{}{}
	<-g.release
	w.WriteString("released\n")
}

// waitArrivals waits until n requests have reached the gate.
func (g *gate) waitArrivals(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-g.arrived:
		case <-time.After(clientTimeout):
			t.Fatalf("%d of %d requests reached the handler", i, n)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func bufferLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// flakyListener fails its first fails Accept calls with EMFILE, as a
// process out of file descriptors would.
type flakyListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.fails > 0
	if fail {
		l.fails--
	}
	l.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

func TestServeRetriesTemporaryAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	fl := &flakyListener{Listener: ln, fails: 3}
	serveOn(t, Config{Handler: web.HandlerFunc(echo), Logger: bufferLogger(&logs)}, fl)

	c := dial(t, ln.Addr().String())
	c.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.read("GET"); r.status != 200 || r.body != echoLine("GET", "/after", "") {
		t.Fatalf("got %d %q, want 200 %q", r.status, r.body, echoLine("GET", "/after", ""))
	}
	if got := strings.Count(logs.String(), "accept failed"); got != 3 {
		t.Errorf("logged %d accept failures, want 3:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "too many open files") {
		t.Errorf("log lacks the accept error:\n%s", logs.String())
	}
}

func TestServeAfterShutdown(t *testing.T) {
	s := New(Config{})
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown of an idle server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown returned %v, want ErrServerClosed", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("the listener handed to Serve after Shutdown still accepts")
	}
}

func TestNilHandlerAnswers404(t *testing.T) {
	_, addr := startServer(t, Config{})
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.read("GET"); r.status != 404 {
		t.Fatalf("got %d, want 404", r.status)
	}
}

func TestShutdownWaitsForRequestsInFlight(t *testing.T) {
	const n = 20
	g := newGate()
	s, addr := startGated(t, g)
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = dial(t, addr)
		clients[i].send(fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i))
	}
	g.waitArrivals(t, n)
	idle := dial(t, addr)
	idle.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := idle.read("GET"); r.status != 200 || r.close {
		t.Fatalf("idle client: got %d close=%v, want 200 kept alive", r.status, r.close)
	}
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()

	// A connection idle when Shutdown starts is closed by it while the
	// others are still in flight, not after its idle timeout.
	idle.expectEOF()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with requests in flight", err)
	default:
	}
	g.open()
	for i, c := range clients {
		r := c.read("GET")
		if r.status != 200 || r.body != "released\n" || !r.close {
			t.Errorf("client %d: got %d %q close=%v, want 200 %q close=true", i, r.status, r.body, r.close, "released\n")
		}
		c.expectEOF()
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown returned %v, want nil", err)
	}
	if nc, err := net.Dial("tcp", addr); err == nil {
		nc.Close()
		t.Fatal("dial after Shutdown succeeded, want refused")
	}
}

func TestShutdownClosesIdleConnections(t *testing.T) {
	s, addr := startServer(t, Config{Handler: web.HandlerFunc(echo)})
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.read("GET"); r.status != 200 || r.close {
		t.Fatalf("got %d close=%v, want 200 kept alive", r.status, r.close)
	}
	// Never used: Shutdown must not wait for its first request either.
	fresh := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown returned %v, want nil (idle connections closed at once)", err)
	}
	c.expectEOF()
	fresh.expectEOF()
}

func TestShutdownServesRequestAlreadyArrived(t *testing.T) {
	// A request sent before Shutdown, but not yet read by the server, is
	// either answered or refused by a close, never left hanging.
	s, addr := startServer(t, Config{Handler: web.HandlerFunc(echo)})
	c := dial(t, addr)
	c.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
	c.read("GET")
	c.send("GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown returned %v", err)
	}
	r, err := c.tryRead("GET")
	switch {
	case err == nil && r.status != 200:
		t.Fatalf("got %d, want 200", r.status)
	case err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET):
		t.Fatalf("got %v, want a response or a close", err)
	}
}

func TestShutdownContextExpiryClosesStragglers(t *testing.T) {
	g := newGate()
	s, addr := startGated(t, g)
	c := dial(t, addr)
	c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	g.waitArrivals(t, 1)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown returned %v, want context.Canceled", err)
	}
	c.expectEOF()
}

func TestCloseClosesEverything(t *testing.T) {
	g := newGate()
	s, addr := startGated(t, g)
	busy := dial(t, addr)
	busy.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	g.waitArrivals(t, 1)
	idle := dial(t, addr)
	go func() {
		// Close must not wait for the handler to see its connection gone.
		busy.expectEOF()
		g.open()
	}()
	s.Close()
	idle.expectEOF()
}

// TestPanicOutsideHandlerClosesOnlyThatConnection: a panicking access-log
// hook takes down its connection, not the server.
func TestPanicOutsideHandlerClosesOnlyThatConnection(t *testing.T) {
	var logs syncBuffer
	_, addr := startServer(t, Config{
		Handler: web.HandlerFunc(echo),
		Logger:  bufferLogger(&logs),
		AccessLog: func(r *web.Request, w *web.ResponseWriter) {
			if string(r.Path) == "/boom" {
				panic("hook exploded")
			}
		},
	})
	c := dial(t, addr)
	c.send("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.read("GET"); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	c.expectEOF()
	if !strings.Contains(logs.String(), "hook exploded") {
		t.Errorf("the panic was not logged: %q", logs.String())
	}
	c2 := dial(t, addr)
	c2.send("GET /fine HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c2.read("GET"); r.status != 200 {
		t.Fatalf("after the panic: status %d", r.status)
	}
}

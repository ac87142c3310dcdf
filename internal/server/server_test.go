package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"nave/internal/metrics"
	"nave/internal/servermetrics"
	"nave/internal/web"
	"nave/internal/wiretest"
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

// headLines reads a response head as raw lines, without the final empty
// line, and returns the status line and the field lines minus Date.
func headLines(c *wiretest.Conn) (status string, fields []string) {
	lines := strings.Split(strings.TrimSuffix(c.ReadHead().Head, "\r\n\r\n"), "\r\n")
	for _, line := range lines[1:] {
		if !strings.HasPrefix(line, "Date: ") {
			fields = append(fields, line)
		}
	}
	return lines[0], fields
}

// tryRead reads the next response; a body cut short by a close is an
// error here (io.ErrUnexpectedEOF), as for a client that needs it whole.
func tryRead(c *wiretest.Conn, method string) (*wiretest.Response, error) {
	r, err := c.TryRead(method)
	if err == nil && r.Closed {
		err = fmt.Errorf("body after %d bytes: %w", len(r.Body), io.ErrUnexpectedEOF)
	}
	return r, err
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

// TestServeRetriesTemporaryAcceptErrors: three accepts fail with EMFILE;
// each is logged and counted refused, and the connection waiting in the
// kernel's queue is then served.
func TestServeRetriesTemporaryAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	reg := metrics.NewRegistry()
	fl := &flakyListener{Listener: ln, fails: 3}
	serveOn(t, Config{Handler: web.HandlerFunc(echo), Logger: bufferLogger(&logs), Metrics: servermetrics.New(reg)}, fl)

	c := wiretest.Dial(t, ln.Addr().String())
	c.Send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.ReadWhole("GET"); r.Status != 200 || string(r.Body) != echoLine("GET", "/after", "") {
		t.Fatalf("got %d %q, want 200 %q", r.Status, r.Body, echoLine("GET", "/after", ""))
	}
	if got := strings.Count(logs.String(), "accept failed"); got != 3 {
		t.Errorf("logged %d accept failures, want 3:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "too many open files") {
		t.Errorf("log lacks the accept error:\n%s", logs.String())
	}
	wantSamples(t, reg, map[string]string{
		`nave_connections_refused_total`:  "3",
		`nave_connections_accepted_total`: "1",
	})
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
	c := wiretest.Dial(t, addr)
	c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.ReadWhole("GET"); r.Status != 404 {
		t.Fatalf("got %d, want 404", r.Status)
	}
}

func TestShutdownWaitsForRequestsInFlight(t *testing.T) {
	const n = 20
	g := newGate()
	s, addr := startGated(t, g)
	clients := make([]*wiretest.Conn, n)
	for i := range clients {
		clients[i] = wiretest.Dial(t, addr)
		clients[i].Send(fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i))
	}
	g.waitArrivals(t, n)
	idle := wiretest.Dial(t, addr)
	idle.Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := idle.ReadWhole("GET"); r.Status != 200 || r.Close {
		t.Fatalf("idle client: got %d close=%v, want 200 kept alive", r.Status, r.Close)
	}
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()

	// A connection idle when Shutdown starts is closed by it while the
	// others are still in flight, not after its idle timeout.
	idle.ExpectEOF()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with requests in flight", err)
	default:
	}
	g.open()
	for i, c := range clients {
		r := c.ReadWhole("GET")
		if r.Status != 200 || string(r.Body) != "released\n" || !r.Close {
			t.Errorf("client %d: got %d %q close=%v, want 200 %q close=true", i, r.Status, r.Body, r.Close, "released\n")
		}
		c.ExpectEOF()
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
	c := wiretest.Dial(t, addr)
	c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.ReadWhole("GET"); r.Status != 200 || r.Close {
		t.Fatalf("got %d close=%v, want 200 kept alive", r.Status, r.Close)
	}
	// Never used: Shutdown must not wait for its first request either.
	fresh := wiretest.Dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown returned %v, want nil (idle connections closed at once)", err)
	}
	c.ExpectEOF()
	fresh.ExpectEOF()
}

// TestShutdownServesRequestAlreadyArrived: a request that has arrived,
// unread, when a drain begins is answered, with Connection: close, over
// TLS as in the clear. The first response goes out before the drain and
// says nothing of a close; its access-log hook then holds the connection
// while the second request arrives in the socket and the drain begins.
func TestShutdownServesRequestAlreadyArrived(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"plain", false}, {"tls", true}} {
		t.Run(tc.name, func(t *testing.T) {
			logged, release := make(chan struct{}), make(chan struct{})
			cfg := Config{Handler: web.HandlerFunc(echo), AccessLog: func(r *web.Request, _ *web.ResponseWriter) {
				if string(r.Path) == "/first" {
					close(logged)
					<-release
				}
			}}
			var s *Server
			var c *wiretest.Conn
			if tc.tls {
				var addr string
				var ctc *tls.Config
				s, addr, ctc = startTLS(t, cfg)
				c = wiretest.DialTLS(t, addr, ctc)
			} else {
				var addr string
				s, addr = startServer(t, cfg)
				c = wiretest.Dial(t, addr)
			}
			var once sync.Once
			open := func() { once.Do(func() { close(release) }) }
			t.Cleanup(open)
			c.Send("GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n")
			if r := c.ReadWhole("GET"); r.Status != 200 || r.Close {
				t.Fatalf("first: got %d close=%v, want 200 kept alive", r.Status, r.Close)
			}
			<-logged
			c.Send("GET /second HTTP/1.1\r\nHost: localhost\r\n\r\n")
			waitUnread(t, s)
			done := make(chan error, 1)
			go func() { done <- s.Shutdown(t.Context()) }()
			for !s.shutting.Load() {
				time.Sleep(time.Millisecond)
			}
			open()
			r, err := tryRead(c, "GET")
			if err != nil {
				t.Fatalf("second, arrived before the drain: %v, want a response", err)
			}
			if r.Status != 200 || !r.Close || !strings.HasPrefix(string(r.Body), "GET /second 0 ") {
				t.Fatalf("second: got %d close=%v %q, want 200, a close, its echo", r.Status, r.Close, r.Body)
			}
			c.ExpectEOF()
			if err := <-done; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		})
	}
}

// waitUnread waits until one of s's connections has bytes in its socket
// that the server has not read: a request has arrived.
func waitUnread(t *testing.T, s *Server) {
	t.Helper()
	unread := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for c := range s.active {
			rc, err := c.sock.SyscallConn()
			if err != nil {
				continue
			}
			n := 0
			rc.Control(func(fd uintptr) {
				var b [1]byte
				n, _, _ = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			})
			if n > 0 {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(clientTimeout); !unread(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the server's socket")
		}
	}
}

func TestShutdownContextExpiryClosesStragglers(t *testing.T) {
	g := newGate()
	s, addr := startGated(t, g)
	c := wiretest.Dial(t, addr)
	c.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	g.waitArrivals(t, 1)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown returned %v, want context.Canceled", err)
	}
	c.ExpectEOF()
}

func TestCloseClosesEverything(t *testing.T) {
	g := newGate()
	s, addr := startGated(t, g)
	busy := wiretest.Dial(t, addr)
	busy.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	g.waitArrivals(t, 1)
	idle := wiretest.Dial(t, addr)
	go func() {
		// Close must not wait for the handler to see its connection gone.
		busy.ExpectEOF()
		g.open()
	}()
	s.Close()
	idle.ExpectEOF()
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
	c := wiretest.Dial(t, addr)
	c.Send("GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.ReadWhole("GET"); r.Status != 200 {
		t.Fatalf("status %d", r.Status)
	}
	c.ExpectEOF()
	if !strings.Contains(logs.String(), "hook exploded") {
		t.Errorf("the panic was not logged: %q", logs.String())
	}
	c2 := wiretest.Dial(t, addr)
	c2.Send("GET /fine HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c2.ReadWhole("GET"); r.Status != 200 {
		t.Fatalf("after the panic: status %d", r.Status)
	}
}

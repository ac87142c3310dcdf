package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"nave/internal/metrics"
	"nave/internal/servermetrics"
	"nave/internal/web"
	"nave/internal/wiretest"
)

// scrape renders reg and returns its samples by series, the HELP and
// TYPE lines left out: `nave_connections{state="idle"}` → "1".
func scrape(reg *metrics.Registry) map[string]string {
	out := make(map[string]string)
	for line := range strings.Lines(string(reg.AppendText(nil, metrics.FormatText))) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		out[line[:i]] = strings.TrimSpace(line[i+1:])
	}
	return out
}

// wantSamples checks series in reg, retrying for a while: connection
// states change on the server's goroutines after a response is read.
func wantSamples(t *testing.T, reg *metrics.Registry, want map[string]string) {
	t.Helper()
	var got map[string]string
	for deadline := time.Now().Add(5 * time.Second); ; {
		got = scrape(reg)
		ok := true
		for k, v := range want {
			ok = ok && got[k] == v
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// methodStatus answers 405 to POST, 404 to /missing and 200 otherwise,
// with the request body read and a 5-byte body.
func methodStatus(w *web.ResponseWriter, r *web.Request) {
	io.Copy(io.Discard, r.Body)
	switch {
	case string(r.Method) == "POST":
		web.Error(w, 405, "method not allowed")
	case string(r.Path) == "/missing":
		web.Error(w, 404, "not found")
	default:
		w.WriteString("hello")
	}
}

func TestMetricsCountHTTP1(t *testing.T) {
	reg := metrics.NewRegistry()
	g := newGate()
	mux := web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		if string(r.Path) == "/wait" {
			g.Serve(w, r)
			return
		}
		methodStatus(w, r)
	})
	_, addr := startServer(t, Config{Handler: mux, Metrics: servermetrics.New(reg)})
	c := wiretest.Dial(t, addr)
	for range 3 {
		c.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
		c.ReadWhole("GET")
	}
	c.Send("GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
	c.ReadWhole("GET")
	c.Send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	c.ReadWhole("POST")
	c.Send("BREW /a HTTP/1.1\r\nHost: x\r\n\r\n")
	c.ReadWhole("BREW")
	wantSamples(t, reg, map[string]string{
		`nave_http_requests_total{method="GET",code="2xx"}`:   "3",
		`nave_http_requests_total{method="GET",code="4xx"}`:   "1",
		`nave_http_requests_total{method="POST",code="4xx"}`:  "1",
		`nave_http_requests_total{method="other",code="2xx"}`: "1",
		`nave_http_request_duration_seconds_count`:            "6",
		`nave_http_time_to_first_byte_seconds_count`:          "6",
		`nave_http_request_body_bytes_total`:                  "3",
		`nave_connections_accepted_total`:                     "1",
		`nave_connections{state="idle"}`:                      "1",
		`nave_connections{state="handling"}`:                  "0",
		`nave_connections{state="reading"}`:                   "0",
	})

	w := wiretest.Dial(t, addr)
	w.Send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
	g.waitArrivals(t, 1)
	wantSamples(t, reg, map[string]string{
		`nave_connections{state="idle"}`:     "1",
		`nave_connections{state="handling"}`: "1",
	})
	g.open()
	w.ReadWhole("GET")

	// A request line without its end: reading, until it times out or
	// the connection closes.
	r := wiretest.Dial(t, addr)
	r.Send("GET /a HT")
	wantSamples(t, reg, map[string]string{`nave_connections{state="reading"}`: "1"})
	for _, cc := range []*wiretest.Conn{c, w, r} {
		cc.Close()
	}
	wantSamples(t, reg, map[string]string{
		`nave_connections{state="idle"}`:     "0",
		`nave_connections{state="handling"}`: "0",
		`nave_connections{state="reading"}`:  "0",
		`nave_connections_accepted_total`:    "3",
	})
}

func TestMetricsCountHTTP2AndTLS(t *testing.T) {
	t.Setenv(wiretest.H2Env, "1") // the server offers h2 and http/1.1
	reg := metrics.NewRegistry()
	_, addr, ctc := startTLS(t, Config{Handler: web.HandlerFunc(methodStatus), Metrics: servermetrics.New(reg)})
	h1conf := ctc.Clone()
	h1conf.NextProtos = []string{"http/1.1"}
	h1 := wiretest.DialTLS(t, addr, h1conf)
	h1.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	h1.ReadWhole("GET")

	c := wiretest.DialTLS(t, addr, ctc)
	c.StartH2()
	c.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\nPOST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	for _, m := range []string{"GET", "GET", "POST"} {
		c.ReadWhole(m)
	}
	// A handshake record that is no ClientHello.
	bad := dialRaw(t, addr)
	bad.Write([]byte("\x16\x03\x01\x00\x04\xff\xff\xff\xff"))
	io.Copy(io.Discard, bad)
	wantSamples(t, reg, map[string]string{
		`nave_http_requests_total{method="GET",code="2xx"}`:            "2",
		`nave_http_requests_total{method="GET",code="4xx"}`:            "1",
		`nave_http_requests_total{method="POST",code="4xx"}`:           "1",
		`nave_http2_streams_total`:                                     "3",
		`nave_http_request_body_bytes_total`:                           "3",
		`nave_tls_handshakes_total{result="ok",version="1.3"}`:         "2",
		`nave_tls_handshakes_total{result="failed",version="unknown"}`: "1",
		`nave_connections{state="idle"}`:                               "2",
	})
	c.Close()
	h1.Close()
	wantSamples(t, reg, map[string]string{
		`nave_connections{state="idle"}`:     "0",
		`nave_connections{state="handling"}`: "0",
	})
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, clientTimeout)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(clientTimeout))
	t.Cleanup(func() { nc.Close() })
	return nc
}

// BenchmarkKeepAlive measures whole HTTP/1.1 exchanges over one
// keep-alive loopback connection: GET, a 14-byte response, client and
// server in this process. Steady state allocates nothing per request.
func BenchmarkKeepAlive(b *testing.B) { benchKeepAlive(b, nil) }

// BenchmarkKeepAliveMetrics is BenchmarkKeepAlive with metrics on.
func BenchmarkKeepAliveMetrics(b *testing.B) {
	benchKeepAlive(b, servermetrics.New(metrics.NewRegistry()))
}

func benchKeepAlive(b *testing.B, m *servermetrics.Set) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := New(Config{Metrics: m, Handler: web.HandlerFunc(func(w *web.ResponseWriter, _ *web.Request) {
		w.WriteString("hello, world!\n")
	})})
	go s.Serve(ln)
	defer s.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	// The first response gives the length of every one (Date's length
	// does not change).
	nc.Write(req)
	br := bufio.NewReader(nc)
	head, err := br.ReadString('!')
	if err != nil {
		b.Fatal(err)
	}
	rest, _ := br.ReadString('\n')
	n := len(head) + len(rest)
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK") || br.Buffered() != 0 {
		b.Fatalf("response %q", head+rest)
	}
	buf := make([]byte, n)
	exchange := func() {
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(nc, buf); err != nil {
			b.Fatal(err)
		}
	}
	for range 100 {
		exchange()
	}
	if !bytes.HasSuffix(buf, []byte("hello, world!\n")) {
		b.Fatalf("response %q", buf)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		exchange()
	}
}

func TestKeepAliveAllocatesNothing(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a benchmark run, and allocation counts mean nothing under -race")
	}
	for name, bench := range map[string]func(*testing.B){"off": BenchmarkKeepAlive, "metrics": BenchmarkKeepAliveMetrics} {
		r := testing.Benchmark(bench)
		// A rare allocation of the runtime's own (a timer, a poller
		// wake-up) is allowed; one per request is not.
		if a := float64(r.MemAllocs) / float64(r.N); a >= 0.01 {
			t.Errorf("%s: %.3f allocations per request (%d B), want 0", name, a, r.AllocedBytesPerOp())
		}
	}
}

// heldListener holds each connection it accepts until it is closed, as if
// the kernel completed the accept just as Shutdown began; accepted is
// closed once it holds the first.
type heldListener struct {
	net.Listener
	accepted, closed      chan struct{}
	acceptOnce, closeOnce sync.Once
}

func (l *heldListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.acceptOnce.Do(func() { close(l.accepted) })
	<-l.closed
	return nc, nil
}

func (l *heldListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.closed) })
	return err
}

// TestMetricsRefusedDuringShutdown: a connection accepted after Shutdown
// began is closed unanswered and counted as accepted and refused.
func TestMetricsRefusedDuringShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl := &heldListener{Listener: ln, accepted: make(chan struct{}), closed: make(chan struct{})}
	reg := metrics.NewRegistry()
	s := serveOn(t, Config{Handler: web.HandlerFunc(methodStatus), Metrics: servermetrics.New(reg)}, hl)
	c := wiretest.Dial(t, ln.Addr().String())
	c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-hl.accepted:
	case <-time.After(clientTimeout):
		t.Fatal("the server accepted nothing")
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown returned %v, want nil", err)
	}
	c.ExpectEOF()
	wantSamples(t, reg, map[string]string{
		`nave_connections_accepted_total`:                   "1",
		`nave_connections_refused_total`:                    "1",
		`nave_http_requests_total{method="GET",code="2xx"}`: "0",
		`nave_connections{state="idle"}`:                    "0",
	})
}

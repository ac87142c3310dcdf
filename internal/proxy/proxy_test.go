package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/wiretest"
)

func TestForwardsRequestAndHeaders(t *testing.T) {
	up := serve(t, echo)
	_, addr := newProxy(t, Config{Servers: servers(up)})
	resp := get(t, addr, "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, X-Secret\r\n"+
		"X-Secret: hop\r\nKeep-Alive: 5\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n"+
		"Accept: */*\r\nTE: trailers\r\n\r\n", "GET")
	if resp.Status != 200 {
		t.Fatalf("got status %d, want 200", resp.Status)
	}
	body := string(resp.Body)
	for _, want := range []string{
		"GET /a/b?x=1\n", "Host: example.com\n", "Accept: */*\n", "Via: 1.1 nave\n",
		"X-Forwarded-For: 127.0.0.1\n", "X-Forwarded-Proto: http\n", "X-Forwarded-Host: example.com\n",
		"Forwarded: for=127.0.0.1;host=\"example.com\";proto=http\n", "X-Request-Start: t=",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("upstream saw\n%s\nwant a line %q", body, want)
		}
	}
	for _, bad := range []string{"X-Secret", "Keep-Alive", "6.6.6.6", "X-Real-IP", "TE:"} {
		if strings.Contains(body, bad) {
			t.Errorf("upstream saw\n%s\nwant no %q", body, bad)
		}
	}
	if resp.Get("X-Upstream") != "yes" {
		t.Errorf("got X-Upstream %q, want yes", resp.Get("X-Upstream"))
	}
}

func TestTrustedProxyFieldsExtended(t *testing.T) {
	up := serve(t, echo)
	p, err := New(Config{Servers: servers(up), Host: "backend.internal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	// The listener marks a trusted proxy's requests (nave run: its
	// trusted_proxies).
	addr := serve(t, web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		r.FromProxy = true
		p.Serve(w, r)
	}))
	resp := get(t, addr, "GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"+
		"Forwarded: for=6.6.6.6\r\nVia: 1.1 edge\r\nX-Request-Start: t=1\r\n\r\n", "GET")
	body := string(resp.Body)
	for _, want := range []string{
		"Host: backend.internal\n", "X-Forwarded-For: 6.6.6.6, 127.0.0.1\n", "X-Forwarded-Proto: https\n",
		"Forwarded: for=6.6.6.6, for=127.0.0.1;", "Via: 1.1 edge, 1.1 nave\n", "X-Request-Start: t=1\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("upstream saw\n%s\nwant a line %q", body, want)
		}
	}
}

// TestClientWithoutAddress: a client with no address (a peer on a Unix
// socket) is "unknown" in the fields nave adds, as RFC 7239 §6 writes it.
func TestClientWithoutAddress(t *testing.T) {
	up := serve(t, echo)
	p, err := New(Config{Servers: servers(up)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	addr := serve(t, web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		r.RemoteAddr = netip.AddrPort{}
		p.Serve(w, r)
	}))
	body := string(get(t, addr, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "GET").Body)
	for _, want := range []string{"X-Forwarded-For: unknown\n", "Forwarded: for=unknown;host="} {
		if !strings.Contains(body, want) {
			t.Errorf("upstream saw\n%s\nwant a line %q", body, want)
		}
	}
}

func TestStripPrefix(t *testing.T) {
	up := serve(t, echo)
	p, err := New(Config{Servers: servers(up), StripPrefix: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mounted := web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		r.SetMount(len("/api"))
		p.Serve(w, r)
	})
	resp := get(t, serve(t, mounted), "GET /api/users?id=3 HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
	if !strings.HasPrefix(string(resp.Body), "GET /users?id=3\n") {
		t.Errorf("upstream saw %q, want GET /users?id=3", resp.Body)
	}
}

func TestKeepAlivePool(t *testing.T) {
	up, conns := serveCounting(t, echo)
	_, addr := newProxy(t, Config{Servers: servers(up)})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	for i := range 20 {
		c.Send("GET /" + strconv.Itoa(i) + " HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp := c.Read("GET"); resp.Status != 200 {
			t.Fatalf("request %d: got %d", i, resp.Status)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("upstream got %d connections for 20 sequential requests, want 1", n)
	}
}

// sized answers /N with N bytes, chunked when the query says so, and
// echoes a POST body's length and digest.
var sized = web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
	if string(r.Method) == "POST" {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			web.Refuse(w, err)
			return
		}
		fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
		return
	}
	n, _ := strconv.Atoi(string(r.Path[1:]))
	if string(r.Query) != "chunked" {
		w.Header().Set("Content-Length", strconv.Itoa(n))
	}
	w.Trailer().Set("X-Sum", "done")
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for n > 0 {
		m := min(n, len(chunk))
		w.Write(chunk[:m])
		n -= m
	}
})

func TestBodies(t *testing.T) {
	up := serve(t, sized)
	_, addr := newProxy(t, Config{Servers: servers(up)})
	for _, n := range []int{0, 14, 1024, 1 << 20, 5<<20 + 7} {
		for _, q := range []string{"", "?chunked"} {
			resp := get(t, addr, fmt.Sprintf("GET /%d%s HTTP/1.1\r\nHost: a\r\n\r\n", n, q), "GET")
			if resp.Status != 200 || len(resp.Body) != n || resp.Closed {
				t.Errorf("/%d%s: got %d with %d bytes (closed %v), want 200 with %d", n, q, resp.Status, len(resp.Body), resp.Closed, n)
			}
			if q != "" && n > 64<<10 && resp.Trailer.Get("X-Sum") != "done" {
				t.Errorf("/%d%s: got trailer %v, want X-Sum", n, q, resp.Trailer)
			}
		}
	}
	body := bytes.Repeat([]byte("x"), 3<<20+5)
	want := fmt.Sprintf("%d %x", len(body), sha256.Sum256(body))
	resp := get(t, addr, fmt.Sprintf("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(body), body), "POST")
	if string(resp.Body) != want {
		t.Errorf("length body: upstream saw %q, want %q", resp.Body, want)
	}
	var chunked bytes.Buffer
	for rest := body; len(rest) > 0; {
		m := min(len(rest), 100000)
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", m, rest[:m])
		rest = rest[m:]
	}
	chunked.WriteString("0\r\n\r\n")
	resp = get(t, addr, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"+chunked.String(), "POST")
	if string(resp.Body) != want {
		t.Errorf("chunked body: upstream saw %q, want %q", resp.Body, want)
	}
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
	if r := c.Read("POST"); r.Status != 100 {
		t.Fatalf("got %d, want 100 Continue first", r.Status)
	}
	c.Send("abc")
	if r := c.Read("POST"); !strings.HasPrefix(string(r.Body), "3 ") {
		t.Errorf("after 100-continue: got %q", r.Body)
	}
}

func TestBodilessResponses(t *testing.T) {
	up := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, _, err := readRequest(br)
			if err != nil {
				return
			}
			switch req.URL.Path {
			case "/204":
				io.WriteString(c, "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n")
			case "/304":
				io.WriteString(c, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 10\r\n\r\n")
			case "/103":
				io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			default:
				io.WriteString(c, "HTTP/1.1 200 Fine\r\nContent-Length: 5\r\n\r\n")
				if req.Method != "HEAD" {
					io.WriteString(c, "hello")
				}
			}
		}
	})
	_, addr := newProxy(t, Config{Servers: servers(up)})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Read("HEAD"); r.Status != 200 || r.Get("Content-Length") != "5" || r.Reason != "Fine" {
		t.Errorf("HEAD: got %d %q, Content-Length %q; want 200 Fine, 5", r.Status, r.Reason, r.Get("Content-Length"))
	}
	c.Send("GET /204 HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Read("GET"); r.Status != 204 || r.Get("X-A") != "1" {
		t.Errorf("204: got %d", r.Status)
	}
	c.Send("GET /304 HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Read("GET"); r.Status != 304 || r.Get("ETag") != `"x"` {
		t.Errorf("304: got %d", r.Status)
	}
	c.Send("GET /103 HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Read("GET"); r.Status != 103 || r.Get("Link") == "" {
		t.Errorf("103: got %d, Link %q", r.Status, r.Get("Link"))
	}
	if r := c.Read("GET"); r.Status != 200 || string(r.Body) != "ok" || r.Has("Link") {
		t.Errorf("after 103: got %d %q, Link %q", r.Status, r.Body, r.Get("Link"))
	}
	c.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Read("GET"); string(r.Body) != "hello" {
		t.Errorf("after the bodiless ones: got %q", r.Body)
	}
}

func TestFaults(t *testing.T) {
	malformed := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello")
	})
	garbage := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.WriteString(c, "SSH-2.0-OpenSSH\r\n\r\n")
	})
	hugeHead := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		for range 2000 {
			io.WriteString(c, "X-Filler: "+strings.Repeat("y", 60)+"\r\n")
		}
		io.WriteString(c, "Content-Length: 0\r\n\r\n")
	})
	stall := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		time.Sleep(2 * time.Second)
	})
	reset := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
		c.Write(bytes.Repeat([]byte("x"), 1000))
		c.(*net.TCPConn).SetLinger(0)
	})
	cases := []struct {
		name     string
		up       string
		want     int
		wantCut  bool
		wantBody int
	}{
		{"refused", closedAddr(t), 502, false, -1},
		{"malformed_framing", malformed, 502, false, -1},
		{"not_http", garbage, 502, false, -1},
		{"huge_head", hugeHead, 502, false, -1},
		{"stalled", stall, 504, false, -1},
		{"reset_mid_body", reset, 200, true, 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := newProxy(t, Config{Servers: servers(tc.up), HeaderTimeout: 300 * time.Millisecond, Retries: Off})
			c := wiretest.Dial(t, addr)
			defer c.Close()
			c.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			resp, err := c.TryRead("GET")
			if tc.wantCut && err == io.EOF {
				return // aborted before the head went out: as good as cut
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tc.want || resp.Closed != tc.wantCut {
				t.Errorf("got %d (cut %v), want %d (cut %v)", resp.Status, resp.Closed, tc.want, tc.wantCut)
			}
			if tc.wantBody >= 0 && len(resp.Body) > tc.wantBody {
				t.Errorf("got %d body bytes, want at most %d", len(resp.Body), tc.wantBody)
			}
			if tc.want >= 500 && strings.Contains(string(resp.Body), "SSH") {
				t.Errorf("the upstream's bytes were passed on: %q", resp.Body)
			}
		})
	}
}

// TestEarlyClose has an upstream that closes each kept-alive connection
// after its first response without saying so: the next request on a
// pooled connection finds it closed and is sent again on a new one.
func TestEarlyClose(t *testing.T) {
	up := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if _, _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	_, addr := newProxy(t, Config{Servers: servers(up)})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	for i, method := range []string{"GET", "GET", "POST", "DELETE", "POST"} {
		c.Send(method + " / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
		if r := c.Read(method); r.Status != 200 || string(r.Body) != "ok" {
			t.Fatalf("request %d (%s): got %d %q, want 200 ok", i, method, r.Status, r.Body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRetriesAnotherServer(t *testing.T) {
	up := serve(t, echo)
	_, addr := newProxy(t, Config{Servers: servers(closedAddr(t), up)})
	for i := range 4 {
		if r := get(t, addr, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", "POST"); r.Status != 200 {
			t.Fatalf("request %d: got %d, want 200 from the live server", i, r.Status)
		}
	}
}

// TestNoRetryOfSentPost: a POST the server may have acted on is not sent
// again, a GET is.
func TestNoRetryOfSentPost(t *testing.T) {
	var got [2]atomic.Int32
	mk := func(i int) string {
		return rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
			for {
				if _, _, err := readRequest(br); err != nil {
					return
				}
				got[i].Add(1)
				if i == 0 {
					c.(*net.TCPConn).SetLinger(0) // reset, no answer
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		})
	}
	a, b := mk(0), mk(1)
	_, addr := newProxy(t, Config{Servers: servers(a, b), MaxFails: Off})
	// Round robin sends the first request to a.
	if r := get(t, addr, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", "POST"); r.Status != 502 {
		t.Errorf("POST: got %d, want 502 without a retry", r.Status)
	}
	if a, b := got[0].Load(), got[1].Load(); a != 1 || b != 0 {
		t.Errorf("after the POST, servers got %d and %d requests, want 1 and 0", a, b)
	}
	for i := range 4 {
		if r := get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET"); r.Status != 200 {
			t.Errorf("GET %d: got %d, want 200 (after a retry when sent to a)", i, r.Status)
		}
	}
	if a, b := got[0].Load(), got[1].Load(); a < 2 || b != 4 {
		t.Errorf("servers got %d and %d requests, want more than 1 (GETs sent to a) and 4", a, b)
	}
}

// TestServerClosedIdlePool: the server closes every kept-alive connection
// at once (a restart); the next request finds the pool stale and still
// gets its answer, on a new connection.
func TestServerClosedIdlePool(t *testing.T) {
	conns := make(chan net.Conn, 16)
	up := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		conns <- c
		for {
			if _, _, err := readRequest(br); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond) // so that the requests overlap
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	_, addr := newProxy(t, Config{Servers: servers(up), Retries: 1})
	done := make(chan int, 4)
	for range 4 {
		go func() { done <- get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET").Status }()
	}
	for range 4 {
		if s := <-done; s != 200 {
			t.Fatalf("warming up: got %d", s)
		}
	}
	for n := len(conns); n > 0; n-- {
		(<-conns).Close()
	}
	time.Sleep(20 * time.Millisecond)
	if r := get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET"); r.Status != 200 {
		t.Errorf("after the server closed its connections: got %d, want 200", r.Status)
	}
}

// TestInterimFlood: a server that answers with 1xx heads without end gets
// a 502 after a bounded number, which the client saw pass.
func TestInterimFlood(t *testing.T) {
	up := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		for range 100 {
			if _, err := io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"); err != nil {
				return
			}
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	})
	_, addr := newProxy(t, Config{Servers: servers(up), Retries: Off})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	n := 0
	for {
		r := c.Read("GET")
		if r.Status != 103 {
			if r.Status != 502 || n != maxInterim {
				t.Errorf("got %d after %d interim heads, want 502 after %d", r.Status, n, maxInterim)
			}
			return
		}
		n++
	}
}

// TestClosedHandlerKeepsNoConnection: a request that finishes after Close
// (a reload retired the upstream) closes its connection instead of
// pooling it.
func TestClosedHandlerKeepsNoConnection(t *testing.T) {
	release := make(chan struct{})
	up := serve(t, web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		<-release
		w.WriteString("late")
	}))
	p, addr := newProxy(t, Config{Servers: servers(up)})
	done := make(chan *wiretest.Response)
	go func() { done <- get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET") }()
	waitFor(t, "the request in flight", func() bool { return p.servers[0].inflight.Load() == 1 })
	p.Close()
	close(release)
	if r := <-done; string(r.Body) != "late" {
		t.Errorf("got %q", r.Body)
	}
	p.servers[0].mu.Lock()
	n := len(p.servers[0].idle)
	p.servers[0].mu.Unlock()
	if n != 0 {
		t.Errorf("a closed handler pooled %d connections", n)
	}
}

// TestRequestIDAndNote: the request's id goes upstream under its field,
// and the access log learns which server answered and how long it took.
func TestRequestIDAndNote(t *testing.T) {
	up := serve(t, echo)
	p, _ := newProxy(t, Config{Servers: servers(up)})
	var note web.Note
	addr := serve(t, web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		r.SetID("X-Request-ID", []byte("id-42"))
		p.Serve(w, r)
		note = r.Note
	}))
	resp := get(t, addr, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "GET")
	if body := string(resp.Body); !strings.Contains(body, "X-Request-ID: id-42\n") {
		t.Errorf("upstream saw\n%s\nwant X-Request-ID: id-42", body)
	}
	if note.Upstream != up || note.UpstreamTime <= 0 {
		t.Errorf("note: got %q after %v, want %q after a positive time", note.Upstream, note.UpstreamTime, up)
	}
}

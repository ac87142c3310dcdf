package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"nave/internal/http1"
	"nave/internal/web"
	"nave/internal/wiretest"
)

func TestBareLFSessions(t *testing.T) {
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(echo)})

	t.Run("http10_closes", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		c.Send("GET / HTTP/1.0\n\n")
		r := c.ReadWhole("GET")
		if r.Status != 200 || string(r.Body) != echoLine("GET", "/", "") || !r.Close {
			t.Fatalf("got %d %q close=%v, want 200 %q close=true", r.Status, r.Body, r.Close, echoLine("GET", "/", ""))
		}
		c.ExpectEOF()
	})
	t.Run("http11_stays_open", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		for _, path := range []string{"/one", "/two"} {
			c.Send("GET " + path + " HTTP/1.1\nHost: x\n\n")
			r := c.ReadWhole("GET")
			if r.Status != 200 || string(r.Body) != echoLine("GET", path, "") || r.Close {
				t.Fatalf("got %d %q close=%v, want 200 %q kept open", r.Status, r.Body, r.Close, echoLine("GET", path, ""))
			}
		}
	})
}

// closer answers like echo, and asks for the connection to close on /close.
func closer(w *web.ResponseWriter, r *web.Request) {
	if string(r.Path) == "/close" {
		w.Header().Set("Connection", "close")
	}
	echo(w, r)
}

func TestKeepAlive(t *testing.T) {
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(closer)})

	t.Run("http11_sequential", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		for i := range 5 {
			path := fmt.Sprintf("/%d", i)
			c.Send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
			if r := c.ReadWhole("GET"); r.Status != 200 || string(r.Body) != echoLine("GET", path, "") || r.Close {
				t.Fatalf("request %d: got %d %q close=%v, want 200 kept alive", i, r.Status, r.Body, r.Close)
			}
		}
	})
	t.Run("http10_keep_alive", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		for range 2 {
			c.Send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
			status, fields := headLines(c)
			if status != "HTTP/1.1 200 OK" || !slices.Contains(fields, "Connection: keep-alive") {
				t.Fatalf("got %q %q, want 200 with Connection: keep-alive", status, fields)
			}
			want := echoLine("GET", "/", "")
			body := make([]byte, len(want))
			if _, err := io.ReadFull(c.Reader(), body); err != nil || string(body) != want {
				t.Fatalf("got body %q (%v), want %q", body, err, want)
			}
		}
	})
	t.Run("client_close", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		c.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		status, fields := headLines(c)
		if status != "HTTP/1.1 200 OK" || !slices.Contains(fields, "Connection: close") {
			t.Fatalf("got %q %q, want 200 with Connection: close", status, fields)
		}
		if got := string(c.ReadAll()); got != echoLine("GET", "/", "") {
			t.Fatalf("got body %q, want %q", got, echoLine("GET", "/", ""))
		}
	})
	t.Run("handler_close", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		c.Send("GET /close HTTP/1.1\r\nHost: x\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n")
		status, fields := headLines(c)
		if status != "HTTP/1.1 200 OK" || !slices.Contains(fields, "Connection: close") {
			t.Fatalf("got %q %q, want 200 with Connection: close", status, fields)
		}
		if got := string(c.ReadAll()); got != echoLine("GET", "/close", "") {
			t.Fatalf("got %q, want only the first response's body %q", got, echoLine("GET", "/close", ""))
		}
	})
}

func TestPipelining(t *testing.T) {
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(echo)})
	type exchange struct{ raw, method, path, body string }
	mixed := []exchange{
		{"GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "GET", "/a", ""},
		{"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", "POST", "/b", "hello"},
		{"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n", "POST", "/c", "abcde"},
		{"HEAD /d HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD", "/d", ""},
		{"GET /e?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", "GET", "/e", ""},
		{"PUT /f HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "PUT", "/f", ""},
	}
	// Enough requests, with bodies, to cross many read-buffer boundaries.
	var many []exchange
	for i := range 200 {
		body := strings.Repeat(string(rune('a'+i%26)), i*7%300)
		many = append(many, exchange{
			raw:    fmt.Sprintf("POST /many/%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body),
			method: "POST", path: fmt.Sprintf("/many/%d", i), body: body,
		})
	}
	for _, tc := range []struct {
		name string
		ex   []exchange
	}{{"mixed", mixed}, {"many", many}} {
		t.Run(tc.name, func(t *testing.T) {
			c := wiretest.Dial(t, addr)
			var all strings.Builder
			for _, e := range tc.ex {
				all.WriteString(e.raw)
			}
			c.Send(all.String())
			for i, e := range tc.ex {
				r := c.ReadWhole(e.method)
				want := echoLine(e.method, e.path, e.body)
				if e.method == "HEAD" {
					want = ""
				}
				if r.Status != 200 || string(r.Body) != want {
					t.Fatalf("response %d: got %d %q, want 200 %q", i, r.Status, r.Body, want)
				}
			}
		})
	}
}

// TestRequestSurvivesBodyRead checks that reading the body, which refills
// the read buffer, leaves the request's head bytes (method, path, fields)
// intact for the rest of the handler.
func TestRequestSurvivesBodyRead(t *testing.T) {
	h := func(w *web.ResponseWriter, r *web.Request) {
		body, err := io.ReadAll(r.Body) // small reads, through the read buffer
		if err != nil {
			w.WriteHeader(400)
			return
		}
		fmt.Fprintf(w, "%s %s %s %s", r.Method, r.Target, r.Header.Get("X-Marker"), body)
	}
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(h)})
	c := wiretest.Dial(t, addr)
	c.Send("POST /path/kept HTTP/1.1\r\nHost: x\r\nX-Marker: still-here\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
	// The body goes only after the server asked for it, so the head is
	// alone in the read buffer when the body is read.
	readContinue(t, c)
	c.Send("4\r\nbody\r\n0\r\n\r\n")
	want := "POST /path/kept still-here body"
	if r := c.ReadWhole("POST"); r.Status != 200 || string(r.Body) != want {
		t.Fatalf("got %d %q, want 200 %q", r.Status, r.Body, want)
	}
}

// readContinue reads exactly an interim 100 Continue response.
func readContinue(t *testing.T, c *wiretest.Conn) {
	t.Helper()
	const want = "HTTP/1.1 100 Continue\r\n\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c.Reader(), got); err != nil || string(got) != want {
		t.Fatalf("got %q (%v), want %q", got, err, want)
	}
}

func TestChunkedRequestBody(t *testing.T) {
	h := func(w *web.ResponseWriter, r *web.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			status, _ := web.StatusOf(err)
			w.WriteHeader(status)
			return
		}
		fmt.Fprintf(w, "body=%q", body)
		for name, value := range r.Trailer.All() {
			fmt.Fprintf(w, " %s=%q", name, value)
		}
	}
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(h)})
	c := wiretest.Dial(t, addr)
	c.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5;name=value;quoted=\"a \\\"b\\\" c\"\r\nhello\r\n" +
		"7 ; lone\r\n, world\r\n" +
		"A\r\n0123456789\r\n" +
		"0;last\r\nX-Checksum: 42\r\nX-Note:  spaced  \r\n\r\n")
	want := `body="hello, world0123456789" X-Checksum="42" X-Note="spaced"`
	if r := c.ReadWhole("POST"); r.Status != 200 || string(r.Body) != want {
		t.Fatalf("got %d %q, want 200 %q", r.Status, r.Body, want)
	}
	// The connection is still in step: the trailer was consumed.
	c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.ReadWhole("GET"); r.Status != 200 || string(r.Body) != `body=""` {
		t.Fatalf("next request: got %d %q, want 200 %q", r.Status, r.Body, `body=""`)
	}
}

// flusher writes a body of unknown length in two pieces with a Flush between.
func flusher(w *web.ResponseWriter, r *web.Request) {
	w.WriteString("hello")
	w.Flush()
	w.WriteString("world")
}

func TestStreamedResponseFraming(t *testing.T) {
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(flusher)})

	t.Run("http11_chunked", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		status, fields := headLines(c)
		if status != "HTTP/1.1 200 OK" || !slices.Contains(fields, "Transfer-Encoding: chunked") || hasField(fields, "Content-Length") {
			t.Fatalf("got %q %q, want 200 chunked without Content-Length", status, fields)
		}
		const want = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c.Reader(), got); err != nil || string(got) != want {
			t.Fatalf("got body %q (%v), want %q", got, err, want)
		}
		c.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if r := c.ReadWhole("GET"); string(r.Body) != "helloworld" {
			t.Fatalf("second response: got %q, want %q", r.Body, "helloworld")
		}
	})
	t.Run("http10_close_delimited", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		c.Send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		status, fields := headLines(c)
		if status != "HTTP/1.1 200 OK" || !slices.Contains(fields, "Connection: close") ||
			hasField(fields, "Content-Length") || hasField(fields, "Transfer-Encoding") {
			t.Fatalf("got %q %q, want 200, Connection: close, no length", status, fields)
		}
		if got := string(c.ReadAll()); got != "helloworld" {
			t.Fatalf("got body %q, want %q", got, "helloworld")
		}
	})
}

func hasField(fields []string, name string) bool {
	for _, f := range fields {
		if n, _, ok := strings.Cut(f, ":"); ok && strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func TestExpectContinue(t *testing.T) {
	h := func(w *web.ResponseWriter, r *web.Request) {
		switch string(r.Path) {
		case "/refuse":
			w.WriteHeader(417)
		case "/too-large":
			w.WriteHeader(413)
		default:
			echo(w, r)
		}
	}
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(h)})

	t.Run("body_after_continue", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		c.Send("POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n")
		readContinue(t, c)
		c.Send("hello world")
		if r := c.ReadWhole("POST"); r.Status != 200 || string(r.Body) != echoLine("POST", "/up", "hello world") || r.Close {
			t.Fatalf("got %d %q close=%v, want 200 %q kept alive", r.Status, r.Body, r.Close, echoLine("POST", "/up", "hello world"))
		}
		c.Send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
		if r := c.ReadWhole("GET"); r.Status != 200 || string(r.Body) != echoLine("GET", "/next", "") {
			t.Fatalf("next request: got %d %q", r.Status, r.Body)
		}
	})
	for _, tc := range []struct{ path, status string }{
		{"/refuse", "HTTP/1.1 417 Expectation Failed"},
		{"/too-large", "HTTP/1.1 413 Content Too Large"},
	} {
		t.Run("handler_refuses"+tc.path, func(t *testing.T) {
			c := wiretest.Dial(t, addr)
			c.Send("POST " + tc.path + " HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
			// No 100 Continue first: the final status line comes at once.
			status, fields := headLines(c)
			if status != tc.status || !slices.Contains(fields, "Connection: close") {
				t.Fatalf("got %q %q, want %q with Connection: close", status, fields, tc.status)
			}
			c.ExpectEOF()
		})
	}
	t.Run("unknown_expectation", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		c.Send("POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\n")
		if r := c.ReadWhole("POST"); r.Status != 417 || !r.Close {
			t.Fatalf("got %d close=%v, want 417 close", r.Status, r.Close)
		}
		c.ExpectEOF()
	})
}

func TestLimits(t *testing.T) {
	cfg := Config{
		Handler: web.HandlerFunc(echo),
		Limits:  http1.Limits{MaxRequestLine: 64, MaxHeaderBytes: 256, MaxHeaderCount: 5, MaxBodyBytes: 100},
	}
	_, addr := startServer(t, cfg)
	fields := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "X-F%d: v\r\n", i)
		}
		return b.String()
	}
	tests := []struct {
		name, raw string
		want      int
	}{
		{"request_line_at_limit", "GET /" + strings.Repeat("a", 64-len("GET / HTTP/1.1\r\n")) + " HTTP/1.1\r\nHost: x\r\n\r\n", 200},
		{"request_line", "GET /" + strings.Repeat("a", 64) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"header_bytes", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 256) + "\r\n\r\n", 431},
		{"header_count_at_limit", "GET / HTTP/1.1\r\nHost: x\r\n" + fields(4) + "\r\n", 200},
		{"header_count", "GET / HTTP/1.1\r\nHost: x\r\n" + fields(5) + "\r\n", 431},
		{"content_length_at_limit", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("c", 100), 200},
		{"content_length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413},
		{"chunked_body", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"32\r\n" + strings.Repeat("d", 50) + "\r\n33\r\n" + strings.Repeat("e", 51) + "\r\n0\r\n\r\n", 413},
		{"trailer_count", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + fields(6) + "\r\n", 431},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := wiretest.Dial(t, addr)
			c.Send(tc.raw)
			r := c.ReadWhole(strings.Fields(tc.raw)[0])
			if r.Status != tc.want {
				t.Fatalf("got %d %q, want %d", r.Status, r.Body, tc.want)
			}
			if tc.want != 200 {
				if !r.Close {
					t.Errorf("got no Connection: close on %d", r.Status)
				}
				c.ExpectEOF()
			}
		})
	}
}

func TestSlowHeadTimesOut(t *testing.T) {
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(echo), HeadTimeout: 200 * time.Millisecond})
	slow := make([]*wiretest.Conn, 5)
	for i := range slow {
		slow[i] = wiretest.Dial(t, addr)
		slow[i].Send("GET /slow HTTP/1.1\r\nHost: x\r\nX-Partial: ")
	}
	// While they stall, a normal client is served throughout.
	c := wiretest.Dial(t, addr)
	for i := range 10 {
		c.Send("GET /normal HTTP/1.1\r\nHost: x\r\n\r\n")
		if r := c.ReadWhole("GET"); r.Status != 200 {
			t.Fatalf("normal request %d: got %d, want 200", i, r.Status)
		}
	}
	for i, s := range slow {
		if r := s.ReadWhole("GET"); r.Status != 408 || !r.Close {
			t.Fatalf("slow client %d: got %d close=%v, want 408 close", i, r.Status, r.Close)
		}
		s.ExpectEOF()
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(echo), IdleTimeout: 200 * time.Millisecond})
	c := wiretest.Dial(t, addr)
	c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.ReadWhole("GET"); r.Status != 200 || r.Close {
		t.Fatalf("got %d close=%v, want 200 kept alive", r.Status, r.Close)
	}
	c.ExpectEOF()
	// A connection that never sends a byte is idle too.
	wiretest.Dial(t, addr).ExpectEOF()
}

func TestSlowBodyTimesOut(t *testing.T) {
	bodyErr := make(chan error, 1)
	h := func(w *web.ResponseWriter, r *web.Request) {
		_, err := io.ReadAll(r.Body)
		bodyErr <- err
		status, _ := web.StatusOf(err)
		w.WriteHeader(status)
	}
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(h), BodyTimeout: 200 * time.Millisecond})
	c := wiretest.Dial(t, addr)
	c.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
	if err := <-bodyErr; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("handler's body read: got %v, want a deadline error", err)
	}
	if r := c.ReadWhole("POST"); r.Status != 408 || !r.Close {
		t.Fatalf("got %d close=%v, want 408 close", r.Status, r.Close)
	}
	c.ExpectEOF()
}

func TestStuckReaderTimesOutWrites(t *testing.T) {
	writeErr := make(chan error, 1)
	h := func(w *web.ResponseWriter, r *web.Request) {
		if string(r.Path) != "/huge" {
			w.WriteString("small\n")
			return
		}
		// Writes much larger than the response buffer, so that the one
		// that fails does so in the middle of its call.
		chunk := make([]byte, 1<<20)
		var err error
		for i := 0; i < 64 && err == nil; i++ { // 64 MiB
			_, err = w.Write(chunk)
		}
		writeErr <- err
	}
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(h), WriteTimeout: 200 * time.Millisecond})
	stuck := wiretest.Dial(t, addr)
	stuck.Send("GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
	// Never read from stuck: the server's writes fill the socket buffers.
	select {
	case err := <-writeErr:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("handler's write: got %v, want a deadline error", err)
		}
	case <-time.After(clientTimeout):
		t.Fatal("the handler's Write never returned")
	}
	c := wiretest.Dial(t, addr)
	c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.ReadWhole("GET"); r.Status != 200 || string(r.Body) != "small\n" {
		t.Fatalf("other client: got %d %q, want 200 %q", r.Status, r.Body, "small\n")
	}
	// The stuck connection was closed: what it can still read ends.
	if _, err := io.Copy(io.Discard, stuck.Reader()); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("stuck client: got %v, want EOF", err)
	}
}

func TestHandlerPanic(t *testing.T) {
	h := func(w *web.ResponseWriter, r *web.Request) {
		switch string(r.Path) {
		case "/before":
			panic("boom-before-write")
		case "/after":
			w.WriteString("partial")
			w.Flush()
			panic("boom-after-flush")
		}
		w.WriteString("fine\n")
	}
	var logs syncBuffer
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(h), Logger: bufferLogger(&logs)})
	checkServing := func(t *testing.T) {
		t.Helper()
		c := wiretest.Dial(t, addr)
		c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if r := c.ReadWhole("GET"); r.Status != 200 || string(r.Body) != "fine\n" {
			t.Fatalf("after the panic: got %d %q, want 200 %q", r.Status, r.Body, "fine\n")
		}
	}

	t.Run("before_write", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		c.Send("GET /before HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if r := c.ReadWhole("GET"); r.Status != 500 || !r.Close {
			t.Fatalf("got %d close=%v, want 500 close", r.Status, r.Close)
		}
		c.ExpectEOF()
		for _, want := range []string{"boom-before-write", "stack=", "conn.go"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs.String())
			}
		}
		checkServing(t)
	})
	t.Run("after_flush", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		c.Send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
		status, fields := headLines(c)
		if status != "HTTP/1.1 200 OK" || !slices.Contains(fields, "Transfer-Encoding: chunked") {
			t.Fatalf("got %q %q, want 200 chunked", status, fields)
		}
		// The body is cut short: no last chunk, so the client can tell.
		if got := string(c.ReadAll()); got != "7\r\npartial\r\n" {
			t.Fatalf("got body %q, want %q and EOF", got, "7\r\npartial\r\n")
		}
		if !strings.Contains(logs.String(), "boom-after-flush") {
			t.Errorf("log lacks the panic value:\n%s", logs.String())
		}
		checkServing(t)
	})
}

func TestNoBodyResponses(t *testing.T) {
	h := func(w *web.ResponseWriter, r *web.Request) {
		switch string(r.Path) {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(304)
		}
		w.WriteString("body bytes") // refused for 204 and 304, counted for HEAD
	}
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(h)})
	c := wiretest.Dial(t, addr)
	c.Send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /204 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /304 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"HEAD /204 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	// Each head must be followed at once by the next status line.
	for _, want := range []struct {
		status string
		field  string // a field the head must carry, "" for none
		absent string // a field it must not carry
	}{
		{"HTTP/1.1 200 OK", "Content-Length: 10", "Transfer-Encoding"},
		{"HTTP/1.1 204 No Content", "", "Content-Length"},
		{"HTTP/1.1 304 Not Modified", `ETag: "v1"`, "Transfer-Encoding"},
		{"HTTP/1.1 204 No Content", "", "Content-Length"},
	} {
		status, fields := headLines(c)
		if status != want.status || want.field != "" && !slices.Contains(fields, want.field) || hasField(fields, want.absent) {
			t.Fatalf("got %q %q, want %q with %q, without %s", status, fields, want.status, want.field, want.absent)
		}
	}
	if r := c.ReadWhole("GET"); r.Status != 200 || string(r.Body) != "body bytes" {
		t.Fatalf("last response: got %d %q, want 200 %q", r.Status, r.Body, "body bytes")
	}
}

// logEntry is what the AccessLog hook saw for one request.
type logEntry struct {
	method string
	status int
	bytes  int64
}

func TestAccessLog(t *testing.T) {
	var mu sync.Mutex
	var entries []logEntry
	hook := func(r *web.Request, w *web.ResponseWriter) {
		mu.Lock()
		defer mu.Unlock()
		entries = append(entries, logEntry{string(r.Method), w.Status(), w.BodyBytes()})
	}
	h := func(w *web.ResponseWriter, r *web.Request) {
		if string(r.Path) == "/panic" {
			panic("logged")
		}
		echo(w, r)
	}
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(h), AccessLog: hook})

	c := wiretest.Dial(t, addr)
	c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n" +
		"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
		"GET / HTTP/1.1\r\n\r\n") // no Host: refused, then closed
	var sizes []int64
	for _, m := range []string{"GET", "HEAD", "POST", "GET"} {
		sizes = append(sizes, int64(len(c.ReadWhole(m).Body)))
	}
	c.ExpectEOF()
	p := wiretest.Dial(t, addr)
	p.Send("GET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
	sizes = append(sizes, int64(len(p.ReadWhole("GET").Body)))
	p.ExpectEOF() // the hook runs before the connection closes

	want := []logEntry{
		{"GET", 200, sizes[0]},
		{"HEAD", 200, 0},
		{"POST", 200, sizes[2]},
		{"", 400, sizes[3]},
		{"GET", 500, sizes[4]},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(entries) != len(want) {
		t.Fatalf("got %d entries %v, want %v", len(entries), entries, want)
	}
	for i := range want {
		// The refused request's method may or may not have been parsed.
		if want[i].status == 400 {
			entries[i].method = ""
		}
		if entries[i] != want[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, entries[i], want[i])
		}
	}
}

func TestHandlerCannotSmuggleFraming(t *testing.T) {
	h := func(w *web.ResponseWriter, r *web.Request) {
		w.Header().Set("Transfer-Encoding", "chunked")
		w.Header().Add("Transfer-Encoding", "gzip")
		if string(r.Path) == "/streamed" {
			w.WriteString("abc")
			w.Flush()
		}
		w.WriteString("hello")
	}
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(h)})
	c := wiretest.Dial(t, addr)
	c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /streamed HTTP/1.1\r\nHost: x\r\n\r\n")

	status, fields := headLines(c)
	if status != "HTTP/1.1 200 OK" || !slices.Contains(fields, "Content-Length: 5") || hasField(fields, "Transfer-Encoding") {
		t.Fatalf("got %q %q, want Content-Length: 5 and no Transfer-Encoding", status, fields)
	}
	body := make([]byte, 5)
	if _, err := io.ReadFull(c.Reader(), body); err != nil || string(body) != "hello" {
		t.Fatalf("got body %q (%v), want %q", body, err, "hello")
	}
	_, fields = headLines(c)
	var te []string
	for _, f := range fields {
		if hasField([]string{f}, "Transfer-Encoding") {
			te = append(te, f)
		}
	}
	if !slices.Equal(te, []string{"Transfer-Encoding: chunked"}) {
		t.Fatalf("streamed response: got %q, want exactly one Transfer-Encoding: chunked", te)
	}
}

func TestHandlerCannotSplitResponse(t *testing.T) {
	h := func(w *web.ResponseWriter, r *web.Request) {
		w.Header().Set("X-Echo", "a\r\nInjected: yes")
		w.WriteString("unreachable")
	}
	_, addr := startServer(t, Config{Handler: web.HandlerFunc(h)})
	c := wiretest.Dial(t, addr)
	c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	status, fields := headLines(c)
	if status != "HTTP/1.1 500 Internal Server Error" || hasField(fields, "Injected") || hasField(fields, "X-Echo") {
		t.Fatalf("got %q %q, want a plain 500", status, fields)
	}
}

package static_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"nave/internal/route"
	"nave/internal/server"
	"nave/internal/static"
)

// clientTimeout bounds every client read and write, so that a server that
// fails to answer fails the test instead of hanging it.
const clientTimeout = 10 * time.Second

// writeFiles creates files (slash-separated name → content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// serve starts a Handler for cfg behind a real server on a loopback port
// until the test ends, and returns its address. cache says whether files
// just written may be cached at once (the racy window set to 0).
func serve(t testing.TB, cfg static.Config, cache bool) (string, *static.Handler) {
	return serveAt(t, cfg, cache, "")
}

// serveAt is serve with the handler mounted at prefix.
func serveAt(t testing.TB, cfg static.Config, cache bool, prefix string) (string, *static.Handler) {
	t.Helper()
	h, err := static.New(cfg)
	if err != nil {
		t.Fatalf("static.New: %v", err)
	}
	if cache {
		static.SetRacyWindow(h, 0)
	}
	table, err := route.New([]route.Mount{{Prefix: prefix, Handler: h}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Config{Handler: table})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		<-done
		h.Close()
	})
	return ln.Addr().String(), h
}

// conn is one raw client connection.
type conn struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr string) *conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(clientTimeout))
	t.Cleanup(func() { nc.Close() })
	return &conn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *conn) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, raw); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// response is one response as read off the wire.
type response struct {
	status int
	head   string // status line and fields, raw
	fields map[string][]string
	body   []byte
}

func (r *response) get(name string) string {
	if v := r.fields[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (r *response) has(name string) bool { return len(r.fields[strings.ToLower(name)]) > 0 }

// readHead reads a status line and header fields.
func (c *conn) readHead() *response {
	c.t.Helper()
	r := &response{fields: map[string][]string{}}
	var head strings.Builder
	line, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("reading status line: %v (got %q)", err, line)
	}
	head.WriteString(line)
	if _, err := fmt.Sscanf(line, "HTTP/1.1 %d ", &r.status); err != nil {
		c.t.Fatalf("status line %q: %v", line, err)
	}
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading head: %v", err)
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
		name, value, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		if !ok {
			c.t.Fatalf("bad field line %q", line)
		}
		k := strings.ToLower(name)
		r.fields[k] = append(r.fields[k], strings.TrimSpace(value))
	}
	r.head = head.String()
	return r
}

// read reads one response; noBody is set for a response to HEAD.
func (c *conn) read(noBody bool) *response {
	c.t.Helper()
	r := c.readHead()
	switch {
	case noBody || r.status == 204 || r.status == 304:
	case r.has("Content-Length"):
		n, err := strconv.ParseInt(r.get("Content-Length"), 10, 64)
		if err != nil {
			c.t.Fatalf("Content-Length %q", r.get("Content-Length"))
		}
		r.body = make([]byte, n)
		if _, err := io.ReadFull(c.br, r.body); err != nil {
			c.t.Fatalf("body: %v", err)
		}
	case r.get("Transfer-Encoding") == "chunked":
		r.body = c.readChunked()
	default:
		b, err := io.ReadAll(c.br)
		if err != nil {
			c.t.Fatalf("body: %v", err)
		}
		r.body = b
	}
	return r
}

func (c *conn) readChunked() []byte {
	c.t.Helper()
	var body []byte
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("chunk size: %v", err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
		if err != nil {
			c.t.Fatalf("chunk size %q", line)
		}
		if n == 0 {
			if l, _ := c.br.ReadString('\n'); l != "\r\n" {
				c.t.Fatalf("after last chunk: %q", l)
			}
			return body
		}
		chunk := make([]byte, n+2)
		if _, err := io.ReadFull(c.br, chunk); err != nil {
			c.t.Fatalf("chunk: %v", err)
		}
		body = append(body, chunk[:n]...)
	}
}

// closed reports whether the server closed the connection (after the
// responses read so far).
func (c *conn) closed() bool {
	c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	defer c.nc.SetReadDeadline(time.Now().Add(clientTimeout))
	_, err := c.br.ReadByte()
	return errors.Is(err, io.EOF)
}

// get sends "GET target" with extra header lines on a new connection and
// reads the response.
func get(t testing.TB, addr, target string, fields ...string) *response {
	t.Helper()
	return request(t, addr, "GET", target, fields...)
}

func request(t testing.TB, addr, method, target string, fields ...string) *response {
	t.Helper()
	c := dial(t, addr)
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: test\r\n")
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	b.WriteString("\r\n")
	c.send(b.String())
	return c.read(method == "HEAD")
}

// expect checks a response's status and, when want is non-empty, its body.
func expect(t testing.TB, r *response, status int, body string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; head:\n%s", r.status, status, r.head)
	}
	if body != "" && string(r.body) != body {
		t.Fatalf("body %q, want %q", trim(r.body), trim([]byte(body)))
	}
}

func trim(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// bigContent is n bytes that differ at every offset worth checking.
func bigContent(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

var _ = bytes.Equal

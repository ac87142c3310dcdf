package server

import (
	"io"
	"regexp"
	"strings"
	"testing"

	xhttp2 "golang.org/x/net/http2"

	"nave/internal/web"
	"nave/internal/wiretest"
	"nave/internal/wiretrace"
)

// TestTrace: a traced server shows HTTP/1 heads as text and HTTP/2 frames
// with their fields, for the traced paths only, streams in parallel.
func TestTrace(t *testing.T) {
	var out syncBuffer
	h := web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteString("hello")
	})
	_, addr := startServer(t, Config{Handler: h, Trace: wiretrace.New(&out, "/t")})

	c := wiretest.Dial(t, addr)
	c.Send("POST /t/one HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	c.Read("POST")
	c.Send("GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
	c.Read("GET")

	h2 := wiretest.DialH2(t, addr, nil)
	for _, path := range []string{"/t/a", "/t/b", "/elsewhere"} {
		h2.WriteHeaders(h2.NextStream(), true, h2.RequestFields("GET", path)...)
	}
	for range 3 {
		if _, err := h2.ReadUntil(func(f xhttp2.Frame) bool {
			d, ok := f.(*xhttp2.DataFrame)
			return ok && d.StreamEnded()
		}); err != nil {
			t.Fatal(err)
		}
	}
	got := out.String()
	for _, want := range []string{
		`> HTTP/1\.1 request\n  POST /t/one HTTP/1\.1\n  Host: x\n  Content-Length: 3\n`,
		`< response \(\+\d+\.\d{3}ms\)\n  HTTP/1\.1 200 OK\n`,
		`< done: request body 3 bytes, response body 5 bytes, status 200`,
		`> h2 HEADERS stream=\d+ length=\d+ flags=END_STREAM\|END_HEADERS\n    :method: GET\n    :scheme: http\n    :authority: \S+\n    :path: /t/a\n`,
		`    :path: /t/b\n`,
		`< h2 HEADERS stream=\d+ length=\d+ flags=END_HEADERS\n    :status: 200\n    content-type: text/plain\n`,
		`< h2 DATA stream=\d+ length=5 flags=END_STREAM\n`,
	} {
		if !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("trace has no %s:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "h2 DATA"); n != 2 {
		t.Errorf("%d DATA frames traced, want 2 (of /t/a and /t/b):\n%s", n, got)
	}
	for _, not := range []string{"/other", "/elsewhere", "SETTINGS"} {
		if strings.Contains(got, not) {
			t.Errorf("trace shows %q, outside /t:\n%s", not, got)
		}
	}
}

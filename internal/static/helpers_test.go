package static_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nave/internal/route"
	"nave/internal/server"
	"nave/internal/static"
	"nave/internal/wiretest"
)

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
// until the test ends, in the clear or over TLS as wiretest.TLSMode says.
// cache says whether files just written may be cached at once (the racy
// window set to 0).
func serve(t testing.TB, cfg static.Config, cache bool) (*wiretest.Server, *static.Handler) {
	return serveAt(t, cfg, cache, "")
}

// serveAt is serve with the handler mounted at prefix.
func serveAt(t testing.TB, cfg static.Config, cache bool, prefix string) (*wiretest.Server, *static.Handler) {
	t.Helper()
	h, err := static.New(cfg)
	if err != nil {
		t.Fatalf("static.New: %v", err)
	}
	if cache {
		static.SetRacyWindow(h, 0)
	}
	t.Cleanup(func() { h.Close() }) // after the server's cleanup: Serve registers later
	table, err := route.New([]route.Mount{{Prefix: prefix, Handler: h}})
	if err != nil {
		t.Fatal(err)
	}
	return wiretest.Serve(t, server.New(server.Config{Handler: table})), h
}

// get sends "GET target" with extra header lines on a new connection and
// reads the response.
func get(t testing.TB, srv *wiretest.Server, target string, fields ...string) *wiretest.Response {
	t.Helper()
	return request(t, srv, "GET", target, fields...)
}

// request sends a request with extra header lines on a new connection and
// reads the whole response.
func request(t testing.TB, srv *wiretest.Server, method, target string, fields ...string) *wiretest.Response {
	t.Helper()
	c := srv.Dial(t)
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: test\r\n")
	for _, f := range fields {
		b.WriteString(f + "\r\n")
	}
	b.WriteString("\r\n")
	c.Send(b.String())
	return c.ReadWhole(method)
}

// expect checks a response's status and, when want is non-empty, its body.
func expect(t testing.TB, r *wiretest.Response, status int, body string) {
	t.Helper()
	if want := proto(); r.Proto != want {
		t.Fatalf("version %q, want %s; head:\n%s", r.Proto, want, r.Head)
	}
	if r.Status != status {
		t.Fatalf("status %d, want %d; head:\n%s", r.Status, status, r.Head)
	}
	if body != "" && string(r.Body) != body {
		t.Fatalf("body %q, want %q", trim(r.Body), trim([]byte(body)))
	}
}

// proto is the version of the responses in this run's mode.
func proto() string {
	if wiretest.H2Mode() {
		return "HTTP/2.0"
	}
	return "HTTP/1.1"
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

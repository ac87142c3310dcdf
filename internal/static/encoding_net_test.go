package static_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nave/internal/static"
)

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// TestSidecars: precompressed .br, .zst and .gz files next to a file are
// sent to clients that accept them, with Content-Encoding, Vary and an
// ETag of their own; others get the file itself, with Vary too.
func TestSidecars(t *testing.T) {
	dir := t.TempDir()
	js := strings.Repeat("console.log('nave');\n", 100)
	writeFiles(t, dir, map[string]string{
		"app.js":            js,
		"app.js.br":         "BROTLI BYTES",
		"app.js.gz":         "GZIP BYTES",
		"logo.png":          "PNG",
		"logo.png.gz":       "should not be used",
		"plain.css":         "body{}",
		"sub/index.html":    "<h1>x</h1>",
		"sub/index.html.br": "BR INDEX",
	})
	srv, _ := serve(t, static.Config{Dir: dir}, true)
	tests := []struct {
		name, target, accept, coding, body string
	}{
		{"br_preferred", "/app.js", "gzip, deflate, br, zstd", "br", "BROTLI BYTES"},
		{"gzip_only", "/app.js", "gzip", "gzip", "GZIP BYTES"},
		{"x_gzip", "/app.js", "x-gzip", "gzip", "GZIP BYTES"},
		{"weights", "/app.js", "br;q=0.5, gzip", "gzip", "GZIP BYTES"},
		{"refused", "/app.js", "br;q=0, gzip;q=0", "", js},
		{"none_accepted", "/app.js", "", "", js},
		{"missing_coding", "/app.js", "zstd", "", js},
		{"not_compressible_type", "/logo.png", "gzip", "", "PNG"},
		{"index_sidecar", "/sub/", "br", "br", "BR INDEX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fields []string
			if tt.accept != "" {
				fields = append(fields, "Accept-Encoding: "+tt.accept)
			}
			for range 2 { // filled, then cached
				r := get(t, srv, tt.target, fields...)
				expect(t, r, 200, tt.body)
				if got := r.Get("Content-Encoding"); got != tt.coding {
					t.Errorf("Content-Encoding %q, want %q", got, tt.coding)
				}
				if wantVary := tt.target != "/logo.png"; r.Has("Vary") != wantVary || wantVary && r.Get("Vary") != "Accept-Encoding" {
					t.Errorf("Vary %q", r.Get("Vary"))
				}
				if ct := r.Get("Content-Type"); tt.target == "/app.js" && ct != "text/javascript; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
			}
		})
	}
	if r := get(t, srv, "/plain.css", "Accept-Encoding: gzip"); r.Has("Vary") || r.Has("Content-Encoding") {
		t.Errorf("no sidecar, no --gzip: want no Vary or Content-Encoding:\n%s", r.Head)
	}
	id := get(t, srv, "/app.js").Get("ETag")
	brTag := get(t, srv, "/app.js", "Accept-Encoding: br").Get("ETag")
	gzTag := get(t, srv, "/app.js", "Accept-Encoding: gzip").Get("ETag")
	if id == brTag || id == gzTag || brTag == gzTag {
		t.Errorf("ETags must differ per representation: %q %q %q", id, brTag, gzTag)
	}
	expect(t, get(t, srv, "/app.js", "Accept-Encoding: br", "If-None-Match: "+brTag), 304, "")
	expect(t, get(t, srv, "/app.js", "Accept-Encoding: gzip", "If-None-Match: "+brTag), 200, "GZIP BYTES")
	// Ranges apply to the representation sent.
	expect(t, get(t, srv, "/app.js", "Accept-Encoding: br", "Range: bytes=0-5"), 206, "BROTLI")
	// The sidecar itself is an ordinary file.
	expect(t, get(t, srv, "/app.js.gz"), 200, "GZIP BYTES")
}

// TestSidecarChanges: a sidecar that appears, changes or goes away after
// the file was cached is noticed by the next request.
func TestSidecarChanges(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.css": strings.Repeat("a{}", 100)})
	srv, h := serve(t, static.Config{Dir: dir}, true)
	ae := "Accept-Encoding: br, gzip"
	expect(t, get(t, srv, "/app.css", ae), 200, strings.Repeat("a{}", 100))
	if n, _ := static.CacheStats(h); n != 1 {
		t.Fatalf("cache holds %d entries, want 1", n)
	}
	writeFiles(t, dir, map[string]string{"app.css.gz": "GZ1"})
	expect(t, get(t, srv, "/app.css", ae), 200, "GZ1")
	writeFiles(t, dir, map[string]string{"app.css.br": "BR1"})
	expect(t, get(t, srv, "/app.css", ae), 200, "BR1")
	replace(t, filepath.Join(dir, "app.css.br"), "BR2")
	expect(t, get(t, srv, "/app.css", ae), 200, "BR2")
	os.Remove(filepath.Join(dir, "app.css.br"))
	expect(t, get(t, srv, "/app.css", ae), 200, "GZ1")
}

// replace swaps in new content for path by rename, as deploy tools do.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestGzipOnTheFly: with Gzip, compressible files of GzipMinSize or more
// are compressed for clients that accept gzip: small ones once (cached),
// large ones while sent (chunked). Ranges get the file itself.
func TestGzipOnTheFly(t *testing.T) {
	dir := t.TempDir()
	text := strings.Repeat("The quick brown fox jumps over the lazy dog.\n", 100)
	// Hex text: compressible, but not below the ResponseWriter's buffer,
	// so the compressed stream is chunked.
	large := "Lorem" + hex.EncodeToString(bigContent(600<<10))
	writeFiles(t, dir, map[string]string{
		"page.html":  text,
		"tiny.html":  "<p>tiny</p>",
		"photo.jpg":  text,
		"large.txt":  large,
		"pre.css":    text,
		"pre.css.gz": "PRECOMPRESSED",
	})
	srv, _ := serve(t, static.Config{Dir: dir, Gzip: true}, true)
	ae := "Accept-Encoding: gzip"

	for range 2 {
		r := get(t, srv, "/page.html", ae)
		expect(t, r, 200, "")
		if r.Get("Content-Encoding") != "gzip" || r.Get("Vary") != "Accept-Encoding" || len(r.Body) >= len(text) {
			t.Fatalf("gzip head:\n%s(%d bytes)", r.Head, len(r.Body))
		}
		if got := gunzip(t, r.Body); string(got) != text {
			t.Fatalf("gunzipped %d bytes differ", len(got))
		}
		if etag := r.Get("ETag"); !strings.HasPrefix(etag, `W/"`) {
			t.Errorf("generated gzip ETag %q, want weak", etag)
		}
	}
	plain := get(t, srv, "/page.html")
	expect(t, plain, 200, text)
	if plain.Get("Vary") != "Accept-Encoding" || plain.Has("Content-Encoding") {
		t.Errorf("identity head:\n%s", plain.Head)
	}
	// The identity's tag revalidates the gzip variant weakly, as nginx's.
	expect(t, get(t, srv, "/page.html", ae, "If-None-Match: "+plain.Get("ETag")), 304, "")
	expect(t, get(t, srv, "/page.html", ae, "Range: bytes=0-2"), 206, "The")
	if r := get(t, srv, "/tiny.html", ae); r.Has("Content-Encoding") || r.Has("Vary") {
		t.Errorf("below the minimum size:\n%s", r.Head)
	}
	if r := get(t, srv, "/photo.jpg", ae); r.Has("Content-Encoding") {
		t.Errorf("jpeg compressed:\n%s", r.Head)
	}
	expect(t, get(t, srv, "/pre.css", ae), 200, "PRECOMPRESSED")

	r := get(t, srv, "/large.txt", ae)
	expect(t, r, 200, "")
	if r.Get("Content-Encoding") != "gzip" || !r.Streamed() || r.Has("Content-Length") {
		t.Fatalf("streamed gzip head:\n%s", r.Head)
	}
	if got := gunzip(t, r.Body); string(got) != large {
		t.Fatalf("streamed gzip: %d bytes after gunzip, want %d", len(got), len(large))
	}
	if r := request(t, srv, "HEAD", "/large.txt", ae); r.Get("Content-Encoding") != "gzip" || r.Has("Content-Length") {
		t.Errorf("HEAD of streamed gzip:\n%s", r.Head)
	}
	expect(t, get(t, srv, "/large.txt", ae, "Range: bytes=0-4"), 206, "Lorem")

	// Off by default.
	addr2, _ := serve(t, static.Config{Dir: dir}, true)
	if r := get(t, addr2, "/page.html", ae); r.Has("Content-Encoding") {
		t.Errorf("gzip without Gzip set:\n%s", r.Head)
	}
}

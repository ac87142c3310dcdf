package static_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"nave/internal/http1"
	"nave/internal/static"
	"nave/internal/web"
)

// replay returns the same request on every Read, as a keep-alive client
// sending one request after another would.
type replay struct{ b []byte }

func (r *replay) Read(p []byte) (int, error) { return copy(p, r.b), nil }

// benchHandler serves a fresh folder holding files (name → content),
// caching at once.
func benchHandler(b *testing.B, cfg static.Config, files map[string][]byte) *static.Handler {
	b.Helper()
	cfg.Dir = b.TempDir()
	for name, content := range files {
		p := filepath.Join(cfg.Dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	h, err := static.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	static.SetRacyWindow(h, 0)
	b.Cleanup(func() { h.Close() })
	return h
}

// serveLoop answers raw through h into io.Discard, b.N times, with the
// real parser and ResponseWriter, and checks the status line once.
func serveLoop(b *testing.B, h web.Handler, raw, wantStatus string) {
	in := &http1.Input{Src: &replay{[]byte(raw)}}
	var (
		r   http1.Request
		x   web.Exchange
		s   http1.Writer
		lim http1.Limits
		out bytes.Buffer
	)
	now := time.Date(2024, 3, 9, 12, 30, 45, 0, time.UTC)
	serve := func(dst io.Writer) {
		if err := http1.ReadRequest(in, &r, &lim); err != nil {
			b.Fatal(err)
		}
		r.Start = now
		s.Reset(dst, &r, &x.W, nil)
		x.Begin(&s, &r.Request)
		h.Serve(&x.W, &r.Request)
		x.End()
	}
	serve(&out)
	if !bytes.HasPrefix(out.Bytes(), []byte("HTTP/1.1 "+wantStatus+"\r\n")) {
		b.Fatalf("response %q, want status %s", out.Bytes(), wantStatus)
	}
	serve(io.Discard) // grow the buffers once
	b.ReportAllocs()
	for b.Loop() {
		serve(io.Discard)
	}
}

const benchGET = "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"

// browserGET is a typical request from a current Chrome.
const browserGET = "GET /assets/app.css HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"Connection: keep-alive\r\n" +
	"sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\"\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
	"Accept: text/css,*/*;q=0.1\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-GB,en;q=0.9\r\n" +
	"\r\n"

// BenchmarkCachedSmallFile is the hot path the speed targets are about:
// a 14-byte cached file over keep-alive, as wrk asks for it.
func BenchmarkCachedSmallFile(b *testing.B) {
	h := benchHandler(b, static.Config{}, map[string][]byte{"hello.txt": []byte("Hello, world!\n")})
	serveLoop(b, h, benchGET, "200 OK")
}

// BenchmarkCachedSmallFileTrusted is the same with CacheValid, as the
// benchmark runs nave beside nginx's open_file_cache_valid: no stat.
func BenchmarkCachedSmallFileTrusted(b *testing.B) {
	h := benchHandler(b, static.Config{CacheValid: time.Minute}, map[string][]byte{"hello.txt": []byte("Hello, world!\n")})
	serveLoop(b, h, benchGET, "200 OK")
}

func BenchmarkCached1KiB(b *testing.B) {
	h := benchHandler(b, static.Config{}, map[string][]byte{"hello.txt": bytes.Repeat([]byte("x"), 1024)})
	serveLoop(b, h, benchGET, "200 OK")
}

// BenchmarkCachedBrowser is a browser's request for a stylesheet that has
// a .br sidecar: two stats (file and sidecar) and the folder's for zstd.
func BenchmarkCachedBrowser(b *testing.B) {
	h := benchHandler(b, static.Config{}, map[string][]byte{
		"assets/app.css":    bytes.Repeat([]byte("body { color: red }\n"), 50),
		"assets/app.css.br": []byte("pretend brotli"),
	})
	serveLoop(b, h, browserGET, "200 OK")
}

// BenchmarkNotModified is a revalidation that matches: a browser's
// If-Modified-Since, compared byte for byte.
func BenchmarkNotModified(b *testing.B) {
	h := benchHandler(b, static.Config{}, map[string][]byte{"hello.txt": []byte("Hello, world!\n")})
	lastMod := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	benchChtimes(b, h, "hello.txt", lastMod)
	serveLoop(b, h, "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nIf-Modified-Since: "+
		lastMod.Format("Mon, 02 Jan 2006 15:04:05 GMT")+"\r\n\r\n", "304 Not Modified")
}

func BenchmarkRange(b *testing.B) {
	h := benchHandler(b, static.Config{}, map[string][]byte{"hello.txt": bytes.Repeat([]byte("x"), 4096)})
	serveLoop(b, h, "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nRange: bytes=100-199\r\n\r\n", "206 Partial Content")
}

// BenchmarkNotFound is a 404 for a name that does not exist.
func BenchmarkNotFound(b *testing.B) {
	h := benchHandler(b, static.Config{}, map[string][]byte{"hello.txt": []byte("Hello, world!\n")})
	serveLoop(b, h, "GET /missing.txt HTTP/1.1\r\nHost: localhost\r\n\r\n", "404 Not Found")
}

// BenchmarkNotFoundTrusted is the same with CacheValid: the miss is
// cached, as nginx's open_file_cache_errors.
func BenchmarkNotFoundTrusted(b *testing.B) {
	h := benchHandler(b, static.Config{CacheValid: time.Minute}, map[string][]byte{"hello.txt": []byte("Hello, world!\n")})
	serveLoop(b, h, "GET /missing.txt HTTP/1.1\r\nHost: localhost\r\n\r\n", "404 Not Found")
}

// BenchmarkLargeFile sends 1 MiB through ReadFrom; into io.Discard this
// measures the handler's open, fstat and header work, not sendfile.
func BenchmarkLargeFile(b *testing.B) {
	h := benchHandler(b, static.Config{}, map[string][]byte{"hello.txt": bytes.Repeat([]byte("x"), 1<<20)})
	serveLoop(b, h, benchGET, "200 OK")
}

// BenchmarkEmbeddedFS is the demo site's path: an fs.FS re-stat'ed with
// fs.Stat, which allocates.
func BenchmarkEmbeddedFS(b *testing.B) {
	h, err := static.New(static.Config{FS: os.DirFS(b.TempDir())})
	if err != nil {
		b.Fatal(err)
	}
	serveLoop(b, h, benchGET, "404 Not Found")
}

// BenchmarkCustom404 is a 404 answered with an --error-page file from
// the cache.
func BenchmarkCustom404(b *testing.B) {
	h := benchHandler(b, static.Config{ErrorPages: map[int]string{404: "/404.html"}},
		map[string][]byte{"404.html": []byte("<h1>not here</h1>")})
	serveLoop(b, h, "GET /missing.txt HTTP/1.1\r\nHost: localhost\r\n\r\n", "404 Not Found")
}

// BenchmarkCachedGzip is --gzip's cached variant of a small file.
func BenchmarkCachedGzip(b *testing.B) {
	h := benchHandler(b, static.Config{Gzip: true},
		map[string][]byte{"assets/app.css": bytes.Repeat([]byte("body { color: red }\n"), 200)})
	serveLoop(b, h, browserGET, "200 OK")
}

// BenchmarkGzipStream is --gzip compressing a 256 KiB file while it is
// sent, with writers from the pool; BenchmarkGzipStreamNoPool is the same
// without it, which is what the pool saves.
func BenchmarkGzipStream(b *testing.B) {
	h := benchHandler(b, static.Config{Gzip: true},
		map[string][]byte{"assets/app.css": bytes.Repeat([]byte("body { color: red }\n"), 13000)})
	serveLoop(b, h, browserGET, "200 OK")
}

func BenchmarkGzipStreamNoPool(b *testing.B) {
	content := bytes.Repeat([]byte("body { color: red }\n"), 13000)
	b.ReportAllocs()
	for b.Loop() {
		zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
		zw.Write(content)
		zw.Close()
	}
}

// benchChtimes sets a served file's times, then lets the cache take it.
func benchChtimes(b *testing.B, h *static.Handler, name string, t time.Time) {
	if err := os.Chtimes(filepath.Join(static.Dir(h), name), t, t); err != nil {
		b.Fatal(err)
	}
}

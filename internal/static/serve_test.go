package static_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"nave/internal/static"
	"nave/internal/wiretest"
)

// site is the fixture most tests serve.
var site = map[string]string{
	"index.html":       "<h1>home</h1>\n",
	"hello.txt":        "Hello, world!\n",
	"style.css":        "body { color: #333 }\n",
	"data.json":        `{"a":1}`,
	"README":           "no extension\n",
	"sub/index.html":   "<h1>sub</h1>\n",
	"sub/page.html":    "<p>page</p>\n",
	"noindex/file.txt": "x\n",
	"my docs/a b.txt":  "spaced\n",
	"empty.txt":        "",
}

func serveSite(t *testing.T, cfg static.Config) *wiretest.Server {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	writeFiles(t, cfg.Dir, site)
	srv, _ := serve(t, cfg, true)
	return srv
}

// TestStatuses is every status the handler gives, over a real socket.
func TestStatuses(t *testing.T) {
	srv := serveSite(t, static.Config{})
	tests := []struct {
		name, method, target string
		status               int
		body                 string
		fields               map[string]string
	}{
		{"root_index", "GET", "/", 200, site["index.html"], map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{"file", "GET", "/hello.txt", 200, site["hello.txt"], map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{"query_ignored", "GET", "/hello.txt?v=3", 200, site["hello.txt"], nil},
		{"folder_index", "GET", "/sub/", 200, site["sub/index.html"], nil},
		{"explicit_index", "GET", "/sub/index.html", 200, site["sub/index.html"], nil},
		{"encoded_name", "GET", "/my%20docs/a%20b.txt", 200, site["my docs/a b.txt"], nil},
		{"empty_file", "GET", "/empty.txt", 200, "", map[string]string{"Content-Length": "0"}},
		{"no_extension", "GET", "/README", 200, site["README"], map[string]string{"Content-Type": "application/octet-stream"}},
		{"folder_redirect", "GET", "/sub", 301, "", map[string]string{"Location": "/sub/"}},
		{"folder_redirect_query", "GET", "/sub?a=1&b=2", 301, "", map[string]string{"Location": "/sub/?a=1&b=2"}},
		{"folder_redirect_escaped", "GET", "/my%20docs", 301, "", map[string]string{"Location": "/my%20docs/"}},
		{"folder_redirect_not_open", "GET", "//sub", 301, "", map[string]string{"Location": "/sub/"}},
		{"missing", "GET", "/missing.html", 404, "", map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{"missing_folder", "GET", "/nope/", 404, "", nil},
		{"folder_without_index", "GET", "/noindex/", 404, "", nil},
		{"file_with_slash", "GET", "/hello.txt/", 404, "", nil},
		{"file_as_folder", "GET", "/hello.txt/x", 404, "", nil},
		{"bad_escape", "GET", "/a%zz", 400, "", nil},
		{"post", "POST", "/", 405, "", map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{"delete", "DELETE", "/hello.txt", 405, "", map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{"put_missing", "PUT", "/new.txt", 405, "", map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{"options", "OPTIONS", "/hello.txt", 204, "", map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{"options_star", "OPTIONS", "*", 204, "", map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{"head", "HEAD", "/hello.txt", 200, "", map[string]string{"Content-Length": "14"}},
		{"head_missing", "HEAD", "/missing", 404, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fields []string
			if tt.method == "POST" || tt.method == "PUT" {
				fields = append(fields, "Content-Length: 0")
			}
			r := request(t, srv, tt.method, tt.target, fields...)
			expect(t, r, tt.status, tt.body)
			for k, v := range tt.fields {
				if got := r.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tt.status >= 400 && !strings.Contains(string(r.Body), "<h1>") && tt.method != "HEAD" {
				t.Errorf("error page body %q", r.Body)
			}
		})
	}
}

// TestHeadMatchesGet: HEAD sends GET's fields and no body, on a
// connection that stays usable.
func TestHeadMatchesGet(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"big.bin": strings.Repeat("z", 300<<10)})
	srv := serveSite(t, static.Config{Dir: dir})
	for _, target := range []string{"/hello.txt", "/big.bin", "/missing"} {
		c := srv.Dial(t)
		c.Send("HEAD " + target + " HTTP/1.1\r\nHost: x\r\n\r\nGET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")
		head := c.ReadWhole("HEAD")
		full := c.ReadWhole("GET")
		for _, k := range []string{"Content-Type", "Content-Length", "ETag", "Last-Modified"} {
			if head.Get(k) != full.Get(k) {
				t.Errorf("%s %s: HEAD %q, GET %q", target, k, head.Get(k), full.Get(k))
			}
		}
	}
}

var (
	etagShape    = regexp.MustCompile(`^"[0-9a-f]+-[0-9a-f]+"$`)
	httpDateForm = "Mon, 02 Jan 2006 15:04:05 GMT"
)

func TestFileHeaders(t *testing.T) {
	dir := t.TempDir()
	srv := serveSite(t, static.Config{Dir: dir})
	mtime := time.Date(2024, 3, 9, 12, 30, 45, 123456789, time.UTC)
	os.Chtimes(filepath.Join(dir, "hello.txt"), mtime, mtime)
	r := get(t, srv, "/hello.txt")
	expect(t, r, 200, site["hello.txt"])
	want := map[string]string{
		"Content-Type":           "text/plain; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
		"Accept-Ranges":          "bytes",
		"Last-Modified":          "Sat, 09 Mar 2024 12:30:45 GMT",
		"Content-Length":         "14",
	}
	for k, v := range want {
		if got := r.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if etag := r.Get("ETag"); !etagShape.MatchString(etag) {
		t.Errorf("ETag %q: want a strong tag of mtime and size", etag)
	}
	for _, k := range []string{"Cache-Control", "Vary", "Content-Encoding", "Expires"} {
		if r.Has(k) {
			t.Errorf("unexpected %s: %q", k, r.Get(k))
		}
	}
	if _, err := time.Parse(httpDateForm, r.Get("Date")); err != nil {
		t.Errorf("Date %q: %v", r.Get("Date"), err)
	}
}

// TestETagStable: the ETag of an unchanged file is the same from a new
// Handler (a restart), and from a copy with its times preserved.
func TestETagStable(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, site)
	a, _ := serve(t, static.Config{Dir: dir}, true)
	b, _ := serve(t, static.Config{Dir: dir}, false)
	ea, eb := get(t, a, "/hello.txt").Get("ETag"), get(t, b, "/hello.txt").Get("ETag")
	if ea == "" || ea != eb {
		t.Errorf("ETags %q and %q, want equal and set", ea, eb)
	}
	copyDir := t.TempDir()
	src := filepath.Join(dir, "hello.txt")
	info, _ := os.Stat(src)
	data, _ := os.ReadFile(src)
	dst := filepath.Join(copyDir, "hello.txt")
	os.WriteFile(dst, data, 0o644)
	os.Chtimes(dst, info.ModTime(), info.ModTime())
	c, _ := serve(t, static.Config{Dir: copyDir}, true)
	if ec := get(t, c, "/hello.txt").Get("ETag"); ec != ea {
		t.Errorf("copy's ETag %q, original's %q", ec, ea)
	}
}

func TestCacheControl(t *testing.T) {
	srv := serveSite(t, static.Config{CacheControl: "public, max-age=3600"})
	r := get(t, srv, "/hello.txt")
	if got := r.Get("Cache-Control"); got != "public, max-age=3600" {
		t.Errorf("200: Cache-Control %q", got)
	}
	r304 := get(t, srv, "/hello.txt", "If-None-Match: "+r.Get("ETag"))
	expect(t, r304, 304, "")
	if got := r304.Get("Cache-Control"); got != "public, max-age=3600" {
		t.Errorf("304: Cache-Control %q", got)
	}
	if got := get(t, srv, "/hello.txt", "Range: bytes=0-1").Get("Cache-Control"); got != "public, max-age=3600" {
		t.Errorf("206: Cache-Control %q", got)
	}
	if r := get(t, srv, "/missing"); r.Has("Cache-Control") {
		t.Errorf("404 carries Cache-Control %q", r.Get("Cache-Control"))
	}
	if _, err := static.New(static.Config{Dir: t.TempDir(), CacheControl: "max-age=1\r\nX: y"}); err == nil {
		t.Error("a Cache-Control value with CRLF was accepted")
	}
}

func TestConditionalRequests(t *testing.T) {
	srv := serveSite(t, static.Config{})
	r := get(t, srv, "/hello.txt")
	etag, lastMod := r.Get("ETag"), r.Get("Last-Modified")
	lm, err := time.Parse(httpDateForm, lastMod)
	if err != nil {
		t.Fatal(err)
	}
	earlier := lm.Add(-time.Hour).Format(httpDateForm)
	later := lm.Add(time.Hour).Format(httpDateForm)
	tests := []struct {
		name   string
		fields []string
		status int
	}{
		{"if_none_match", []string{"If-None-Match: " + etag}, 304},
		{"if_none_match_list", []string{`If-None-Match: "nope", ` + etag}, 304},
		{"if_none_match_weak", []string{"If-None-Match: W/" + etag}, 304},
		{"if_none_match_star", []string{"If-None-Match: *"}, 304},
		{"if_none_match_other", []string{`If-None-Match: "nope"`}, 200},
		{"if_none_match_second_line", []string{`If-None-Match: "nope"`, "If-None-Match: " + etag}, 304},
		{"if_modified_since_same", []string{"If-Modified-Since: " + lastMod}, 304},
		{"if_modified_since_later", []string{"If-Modified-Since: " + later}, 304},
		{"if_modified_since_earlier", []string{"If-Modified-Since: " + earlier}, 200},
		{"if_modified_since_asctime", []string{"If-Modified-Since: " + lm.Format("Mon Jan _2 15:04:05 2006")}, 304},
		{"if_modified_since_rfc850", []string{"If-Modified-Since: " + lm.Format("Monday, 02-Jan-06 15:04:05 GMT")}, 304},
		{"if_modified_since_garbage", []string{"If-Modified-Since: tomorrow"}, 200},
		{"inm_beats_ims", []string{`If-None-Match: "nope"`, "If-Modified-Since: " + later}, 200},
		{"if_match", []string{"If-Match: " + etag}, 200},
		{"if_match_fails", []string{`If-Match: "nope"`}, 412},
		{"if_match_weak_fails", []string{"If-Match: W/" + etag}, 412},
		{"if_unmodified_since", []string{"If-Unmodified-Since: " + lastMod}, 200},
		{"if_unmodified_since_fails", []string{"If-Unmodified-Since: " + earlier}, 412},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, srv, "/hello.txt", tt.fields...)
			expect(t, r, tt.status, "")
			switch tt.status {
			case 304:
				if r.Get("ETag") != etag || r.Has("Content-Type") || r.Has("Content-Length") {
					t.Errorf("304 head:\n%s", r.Head)
				}
			case 200:
				if string(r.Body) != site["hello.txt"] {
					t.Errorf("body %q", r.Body)
				}
			}
		})
	}
	// HEAD is conditional too.
	c := srv.Dial(t)
	c.Send("HEAD /hello.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag + "\r\n\r\n")
	expect(t, c.ReadWhole("HEAD"), 304, "")
}

// TestEmbeddedFS: an fs.FS (the demo site's path) gets the same
// behaviour, with content-hash ETags for files without times.
func TestEmbeddedFS(t *testing.T) {
	fsys := fstest.MapFS{
		"index.html":   {Data: []byte("<h1>demo</h1>\n")},
		"style.css":    {Data: []byte("body{}\n")},
		"docs/a.txt":   {Data: []byte("aaaa")},
		"timed.txt":    {Data: []byte("t"), ModTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		".hidden":      {Data: []byte("h")},
		"docs/sub/x.y": {Data: []byte("x")},
	}
	srv, _ := serve(t, static.Config{FS: fsys}, false)
	r := get(t, srv, "/")
	expect(t, r, 200, "<h1>demo</h1>\n")
	etag := r.Get("ETag")
	if etag == "" || r.Has("Last-Modified") {
		t.Errorf("ETag %q, Last-Modified %q: want a content tag and no time", etag, r.Get("Last-Modified"))
	}
	expect(t, get(t, srv, "/", "If-None-Match: "+etag), 304, "")
	expect(t, get(t, srv, "/docs"), 301, "")
	expect(t, get(t, srv, "/docs/a.txt", "Range: bytes=1-2"), 206, "aa")
	expect(t, get(t, srv, "/.hidden"), 404, "")
	expect(t, get(t, srv, "/missing"), 404, "")
	if lm := get(t, srv, "/timed.txt").Get("Last-Modified"); lm != "Tue, 02 Jan 2024 03:04:05 GMT" {
		t.Errorf("Last-Modified %q", lm)
	}
	if _, err := static.New(static.Config{}); err == nil {
		t.Error("New with neither Dir nor FS succeeded")
	}
}

func TestIndexNames(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a/index.htm": "htm", "b/index.html": "html", "b/index.htm": "htm"})
	srv, _ := serve(t, static.Config{Dir: dir, Index: []string{"index.html", "index.htm"}}, true)
	expect(t, get(t, srv, "/a/"), 200, "htm")
	expect(t, get(t, srv, "/b/"), 200, "html")
	// A preferred index created later is served at once, although the
	// folder's entry is cached.
	writeFiles(t, dir, map[string]string{"a/index.html": "new html"})
	expect(t, get(t, srv, "/a/"), 200, "new html")
	os.Remove(filepath.Join(dir, "a", "index.html"))
	expect(t, get(t, srv, "/a/"), 200, "htm")

	for _, bad := range [][]string{{""}, {"a/b.html"}, {".."}} {
		if _, err := static.New(static.Config{Dir: dir, Index: bad}); err == nil {
			t.Errorf("index names %q accepted", bad)
		}
	}
}

func TestErrorPages(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"errors/404.html": "<h1>custom 404</h1>\n", "errors/405.txt": "no\n"})
	srv, _ := serve(t, static.Config{Dir: dir, ErrorPages: map[int]string{404: "/errors/404.html", 405: "errors/405.txt"}}, true)
	for range 2 { // filled, then from the cache
		r := get(t, srv, "/missing")
		expect(t, r, 404, "<h1>custom 404</h1>\n")
		if r.Get("Content-Type") != "text/html; charset=utf-8" || r.Has("ETag") || r.Has("Last-Modified") {
			t.Errorf("custom 404 head:\n%s", r.Head)
		}
	}
	r := request(t, srv, "HEAD", "/missing")
	if r.Status != 404 || r.Get("Content-Length") != "20" {
		t.Errorf("HEAD custom 404:\n%s", r.Head)
	}
	r = request(t, srv, "DELETE", "/x")
	expect(t, r, 405, "no\n")
	if r.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("custom 405 lost Allow:\n%s", r.Head)
	}
	// The page itself is still an ordinary file.
	expect(t, get(t, srv, "/errors/404.html"), 200, "<h1>custom 404</h1>\n")
	// Gone: the built-in page, not a loop.
	os.Remove(filepath.Join(dir, "errors", "404.html"))
	r = get(t, srv, "/missing")
	if r.Status != 404 || !strings.Contains(string(r.Body), "404 Not Found") {
		t.Errorf("after removing the page: %d %q", r.Status, r.Body)
	}

	for name, pages := range map[string]map[int]string{
		"missing_file": {404: "/nope.html"},
		"folder":       {404: "/errors/"},
		"traversal":    {404: "/../etc/passwd"},
		"not_an_error": {200: "/errors/405.txt"},
	} {
		if _, err := static.New(static.Config{Dir: dir, ErrorPages: pages}); err == nil {
			t.Errorf("%s: error pages %v accepted", name, pages)
		}
	}
}

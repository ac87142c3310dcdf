package static_test

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"nave/internal/route"
	"nave/internal/server"
	"nave/internal/static"
	"nave/internal/web"
	"nave/internal/wiretest"
)

// rewriteInPlace overwrites path's content without changing its inode,
// then sets its mtime back to what it was: only ctime tells.
func rewriteInPlace(t *testing.T, path, content string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(path, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// TestChangedBetweenRequests: whatever happens to a file between two
// requests, the second sees it. This runs with the real racy window, so
// the changes come faster than any file system's clock tick.
func TestChangedBetweenRequests(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "page.html")
	writeFiles(t, dir, map[string]string{"page.html": "version 1"})
	srv, _ := serve(t, static.Config{Dir: dir}, false)
	expect(t, get(t, srv, "/page.html"), 200, "version 1")
	rewriteInPlace(t, p, "version 2") // same size, same mtime
	expect(t, get(t, srv, "/page.html"), 200, "version 2")
	replace(t, p, "version 3")
	expect(t, get(t, srv, "/page.html"), 200, "version 3")
	rewriteInPlace(t, p, "v4")
	expect(t, get(t, srv, "/page.html"), 200, "v4")
	rewriteInPlace(t, p, "version five, longer")
	expect(t, get(t, srv, "/page.html"), 200, "version five, longer")
	os.Remove(p)
	expect(t, get(t, srv, "/page.html"), 404, "")
	os.Mkdir(p, 0o755)
	expect(t, get(t, srv, "/page.html"), 301, "")
}

// TestCacheRevalidates: a cached file is re-stat'ed on every request, and
// a change to size, mtime, ctime or inode refills it.
func TestCacheRevalidates(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "page.html")
	writeFiles(t, dir, map[string]string{"page.html": "version 1"})
	srv, h := serve(t, static.Config{Dir: dir}, true)
	etag1 := get(t, srv, "/page.html").Get("ETag")
	expect(t, get(t, srv, "/page.html"), 200, "version 1")
	if n, b := static.CacheStats(h); n != 1 || b == 0 {
		t.Fatalf("cache: %d entries, %d bytes; want the file cached", n, b)
	}
	// The cache can only tell changes apart that the clock can: with the
	// racy window off, wait out the file system's timestamp tick.
	time.Sleep(50 * time.Millisecond)
	rewriteInPlace(t, p, "version 2")
	r := get(t, srv, "/page.html")
	expect(t, r, 200, "version 2")
	if r.Get("ETag") != etag1 {
		t.Logf("ETag changed as well (%s → %s)", etag1, r.Get("ETag"))
	}
	replace(t, p, "version 3")
	expect(t, get(t, srv, "/page.html"), 200, "version 3")
	os.Remove(p)
	expect(t, get(t, srv, "/page.html"), 404, "")
	if n, _ := static.CacheStats(h); n != 0 {
		t.Errorf("a removed file's entry stayed: %d entries", n)
	}
}

// TestCacheValid: with CacheValid, a cached file is trusted without a
// stat until the window has passed since its last check, as nginx's
// open_file_cache_valid; then every file the entry was built from is
// checked again, a sidecar included even for a client that does not use
// it.
func TestCacheValid(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "page.html")
	writeFiles(t, dir, map[string]string{"page.html": "version 1", "app.js": "JS 1", "app.js.gz": "GZ 1"})
	srv, h := serve(t, static.Config{Dir: dir, CacheValid: time.Hour}, true)
	expect(t, get(t, srv, "/page.html"), 200, "version 1")
	rewriteInPlace(t, p, "version 2")
	expect(t, get(t, srv, "/page.html"), 200, "version 1")
	replace(t, p, "version 3, longer")
	expect(t, get(t, srv, "/page.html"), 200, "version 1")
	static.ExpireChecks(h)
	expect(t, get(t, srv, "/page.html"), 200, "version 3, longer")
	os.Remove(p)
	expect(t, get(t, srv, "/page.html"), 200, "version 3, longer")
	static.ExpireChecks(h)
	expect(t, get(t, srv, "/page.html"), 404, "")

	expect(t, get(t, srv, "/app.js", "Accept-Encoding: gzip\r\n"), 200, "GZ 1")
	replace(t, filepath.Join(dir, "app.js.gz"), "GZ 2")
	expect(t, get(t, srv, "/app.js", "Accept-Encoding: gzip\r\n"), 200, "GZ 1")
	static.ExpireChecks(h)
	expect(t, get(t, srv, "/app.js"), 200, "JS 1")
	expect(t, get(t, srv, "/app.js", "Accept-Encoding: gzip\r\n"), 200, "GZ 2")
}

// TestCacheValidMissing: with CacheValid a missing name is remembered
// as nginx's open_file_cache_errors does, until the window has passed;
// without it, a file that appears is served at once.
func TestCacheValidMissing(t *testing.T) {
	dir := t.TempDir()
	srv, h := serve(t, static.Config{Dir: dir, CacheValid: time.Hour}, true)
	expect(t, get(t, srv, "/late.html"), 404, "")
	if n, _ := static.CacheStats(h); n != 1 {
		t.Fatalf("cache: %d entries after a 404; want the miss kept", n)
	}
	writeFiles(t, dir, map[string]string{"late.html": "here now"})
	expect(t, get(t, srv, "/late.html"), 404, "")
	static.ExpireChecks(h)
	expect(t, get(t, srv, "/late.html"), 200, "here now")

	expect(t, get(t, srv, "/gone"), 404, "")
	os.Mkdir(filepath.Join(dir, "gone"), 0o755)
	static.ExpireChecks(h)
	expect(t, get(t, srv, "/gone"), 301, "")
	expect(t, get(t, srv, "/gone"), 301, "")

	addr2, h2 := serve(t, static.Config{Dir: dir}, true)
	expect(t, get(t, addr2, "/new.html"), 404, "")
	writeFiles(t, dir, map[string]string{"new.html": "new"})
	expect(t, get(t, addr2, "/new.html"), 200, "new")
	expect(t, get(t, addr2, "/nothing"), 404, "")
	if n, _ := static.CacheStats(h2); n != 1 {
		t.Errorf("cache without CacheValid: %d entries; want only new.html, no miss kept", n)
	}
}

// TestRacyWindow: a file read within the window of its last change is
// served but not cached; later it is.
func TestRacyWindow(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"page.html": "fresh"})
	srv, h := serve(t, static.Config{Dir: dir}, false)
	static.SetRacyWindow(h, 200*time.Millisecond)
	expect(t, get(t, srv, "/page.html"), 200, "fresh")
	if n, _ := static.CacheStats(h); n != 0 {
		t.Fatalf("a just-written file was cached")
	}
	time.Sleep(250 * time.Millisecond)
	expect(t, get(t, srv, "/page.html"), 200, "fresh")
	if n, _ := static.CacheStats(h); n != 1 {
		t.Fatalf("a settled file was not cached: %d entries", n)
	}
}

// TestTruncatedDuringTransfer: a file cut short while it is being sent
// gives a body short of its Content-Length and a closed connection,
// never other bytes.
func TestTruncatedDuringTransfer(t *testing.T) {
	dir := t.TempDir()
	content := bigContent(32 << 20)
	p := filepath.Join(dir, "big.bin")
	os.WriteFile(p, content, 0o644)
	srv, _ := serve(t, static.Config{Dir: dir}, true)

	c := srv.Dial(t)
	c.Send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	r := c.ReadHead()
	if r.Status != 200 || r.Get("Content-Length") != strconv.Itoa(len(content)) {
		t.Fatalf("head:\n%s", r.Head)
	}
	first := make([]byte, 1<<20)
	if _, err := io.ReadFull(c.Reader(), first); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 2<<20); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(c.Reader())
	if err != nil {
		t.Fatalf("reading the rest: %v", err)
	}
	body := append(first, rest...)
	if len(body) >= len(content) {
		t.Fatalf("got %d bytes, the whole declared length: the cut was not seen", len(body))
	}
	if !bytes.Equal(body, content[:len(body)]) {
		t.Fatal("the bytes sent are not a prefix of the file")
	}
	t.Logf("got %d of %d bytes, then the connection closed", len(body), len(content))
}

// TestGrownDuringTransfer: a file that grows while it is being sent gives
// exactly its Content-Length, and the connection carries the next
// response intact.
func TestGrownDuringTransfer(t *testing.T) {
	dir := t.TempDir()
	content := bigContent(16 << 20)
	p := filepath.Join(dir, "big.bin")
	os.WriteFile(p, content, 0o644)
	writeFiles(t, dir, map[string]string{"next.txt": "next response"})
	srv, _ := serve(t, static.Config{Dir: dir}, true)

	c := srv.Dial(t)
	c.Send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /next.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	r := c.ReadHead()
	if r.Get("Content-Length") != strconv.Itoa(len(content)) {
		t.Fatalf("head:\n%s", r.Head)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("EXTRA"), 1<<18))
	f.Close()
	body := make([]byte, len(content))
	if _, err := io.ReadFull(c.Reader(), body); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, content) {
		t.Fatal("body differs from the file as it was")
	}
	expect(t, c.ReadWhole("GET"), 200, "next response")
}

// TestChangedDuringTransferMultipart: a file cut short during a multipart
// range response ends the body there.
func TestChangedDuringTransferMultipart(t *testing.T) {
	dir := t.TempDir()
	content := bigContent(32 << 20)
	p := filepath.Join(dir, "big.bin")
	os.WriteFile(p, content, 0o644)
	srv, _ := serve(t, static.Config{Dir: dir}, true)
	c := srv.Dial(t)
	c.Send("GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-15999999,16000000-31999999\r\n\r\n")
	r := c.ReadHead()
	declared, _ := strconv.Atoi(r.Get("Content-Length"))
	if r.Status != 206 || declared < 32000000 {
		t.Fatalf("head:\n%s", r.Head)
	}
	first := make([]byte, 1<<20)
	io.ReadFull(c.Reader(), first)
	os.Truncate(p, 1<<20)
	rest, _ := io.ReadAll(c.Reader())
	if got := len(first) + len(rest); got >= declared {
		t.Fatalf("got %d bytes of %d declared: the cut was not seen", got, declared)
	}
}

// TestManyFiles serves a folder of 3000 files through a cache bounded to
// 100 entries: each comes back right, the bound holds, and the listing
// has them all.
func TestManyFiles(t *testing.T) {
	dir := t.TempDir()
	const n = 3000
	files := make(map[string]string, n)
	for i := range n {
		files[fmt.Sprintf("many/f%04d.txt", i)] = strings.Repeat(strconv.Itoa(i), i%7+1)
	}
	writeFiles(t, dir, files)
	srv, h := serve(t, static.Config{Dir: dir, CacheEntries: 100, Browse: true}, true)
	c := srv.Dial(t)
	for round := range 2 {
		for i := 0; i < n; i += 1 + round*6 {
			name := fmt.Sprintf("many/f%04d.txt", i)
			c.Send("GET /" + name + " HTTP/1.1\r\nHost: x\r\n\r\n")
			expect(t, c.ReadWhole("GET"), 200, files[name])
		}
		if entries, _ := static.CacheStats(h); entries > 100 {
			t.Fatalf("cache holds %d entries, bound 100", entries)
		}
	}
	r := get(t, srv, "/many/", "Accept: application/json")
	expect(t, r, 200, "")
	if got := strings.Count(string(r.Body), `"name":`); got != n {
		t.Errorf("JSON listing has %d entries, want %d", got, n)
	}
	r = get(t, srv, "/many/")
	for _, name := range []string{"f0000.txt", "f1500.txt", "f2999.txt"} {
		if !strings.Contains(string(r.Body), ">"+name+"</a>") {
			t.Errorf("HTML listing lacks %s", name)
		}
	}
}

// TestCacheBytesBound: the bytes held stay under CacheBytes.
func TestCacheBytesBound(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 50 {
		files[fmt.Sprintf("f%d.bin", i)] = strings.Repeat("x", 20<<10)
	}
	writeFiles(t, dir, files)
	srv, h := serve(t, static.Config{Dir: dir, CacheBytes: 200 << 10}, true)
	for name, content := range files {
		expect(t, get(t, srv, "/"+name), 200, content)
		if _, b := static.CacheStats(h); b > 200<<10 {
			t.Fatalf("cache holds %d bytes, bound %d", b, 200<<10)
		}
	}
	off, h2 := serve(t, static.Config{Dir: dir, CacheBytes: -1}, true)
	expect(t, get(t, off, "/f1.bin"), 200, files["f1.bin"])
	if n, _ := static.CacheStats(h2); n != 0 {
		t.Errorf("cache off holds %d entries", n)
	}
}

// TestConcurrentChanges: clients on several connections read files while
// they change, through a cache small enough to evict. A file replaced by
// rename always comes back as one whole version; one rewritten in place
// may be caught mid-write, as with any server, so its body is a prefix of
// a version (and, as always, exactly as long as its Content-Length).
func TestConcurrentChanges(t *testing.T) {
	dir := t.TempDir()
	const files, versions = 8, 20
	version := func(f, v int) string { return fmt.Sprintf("file %d version %02d ", f, v) + strings.Repeat("x", f*100) }
	renamed := func(f int) bool { return f%2 == 0 }
	for f := range files {
		writeFiles(t, dir, map[string]string{fmt.Sprintf("f%d.txt", f): version(f, 0)})
	}
	srv, _ := serve(t, static.Config{Dir: dir, CacheEntries: 4}, true)
	done := make(chan struct{})
	errs := make(chan error, 16)
	for w := range 4 {
		go func() {
			c := srv.Dial(t)
			for i := 0; ; i++ {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				f := (i + w) % files
				c.Send(fmt.Sprintf("GET /f%d.txt HTTP/1.1\r\nHost: x\r\n\r\n", f))
				r := c.ReadWhole("GET")
				ok := false
				for v := range versions {
					if renamed(f) {
						ok = ok || string(r.Body) == version(f, v)
					} else {
						ok = ok || strings.HasPrefix(version(f, v), string(r.Body))
					}
				}
				if r.Status != 200 || !ok {
					errs <- fmt.Errorf("f%d: %d %q", f, r.Status, trim(r.Body))
					return
				}
			}
		}()
	}
	for v := 1; v < versions; v++ {
		for f := range files {
			p := filepath.Join(dir, fmt.Sprintf("f%d.txt", f))
			if renamed(f) {
				replace(t, p, version(f, v))
			} else {
				os.WriteFile(p, []byte(version(f, v)), 0o644)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// growingFS holds log.bin, a file that grows between each stat and read,
// as a log being written does.
type growingFS struct{ opens atomic.Int64 }

func (g *growingFS) Open(name string) (fs.File, error) {
	if name != "log.bin" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	n := int(g.opens.Add(1))
	return &growingFile{Reader: strings.NewReader(strings.Repeat("line\n", n+1)), size: int64(5 * n)}, nil
}

type growingFile struct {
	*strings.Reader
	size int64 // what Stat says: a line less than there is to read
}

func (f *growingFile) Stat() (fs.FileInfo, error) { return growingInfo{f.size}, nil }
func (f *growingFile) Close() error               { return nil }

type growingInfo struct{ size int64 }

func (i growingInfo) Name() string       { return "log.bin" }
func (i growingInfo) Size() int64        { return i.size }
func (i growingInfo) Mode() fs.FileMode  { return 0o444 }
func (i growingInfo) ModTime() time.Time { return time.Time{} }
func (i growingInfo) IsDir() bool        { return false }
func (i growingInfo) Sys() any           { return nil }

// TestAlwaysChanging: a small file that changes during every read is sent
// from the file with the length its stat gave, not refused and not
// cached.
func TestAlwaysChanging(t *testing.T) {
	srv, h := serve(t, static.Config{FS: &growingFS{}}, true)
	for range 3 {
		r := get(t, srv, "/log.bin")
		expect(t, r, 200, "")
		n, _ := strconv.Atoi(r.Get("Content-Length"))
		if n == 0 || len(r.Body) != n || string(r.Body) != strings.Repeat("line\n", n/5) {
			t.Fatalf("Content-Length %d, body %q", n, r.Body)
		}
	}
	if n, _ := static.CacheStats(h); n != 0 {
		t.Errorf("an always-changing file was cached")
	}
}

// arriving hands the static handler each request with Arrived set to
// what the test says, as HTTP/2 sets it to the time of its read.
type arriving struct {
	h  *static.Handler
	at atomic.Pointer[time.Time]
}

func (a *arriving) Serve(w *web.ResponseWriter, r *web.Request) {
	r.Arrived = *a.at.Load()
	a.h.Serve(w, r)
}

// TestArrivedSharesCheck: a request that had arrived before a cached
// file's last check began is answered from that check without a stat
// (what requests read together share); one that arrived after a change
// sees it; one without Arrived is checked on its own.
func TestArrivedSharesCheck(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "page.html")
	writeFiles(t, dir, map[string]string{"page.html": "version 1"})
	h, err := static.New(static.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	static.SetRacyWindow(h, 0)
	t.Cleanup(func() { h.Close() })
	a := &arriving{h: h}
	table, err := route.New([]route.Mount{{Prefix: "", Handler: a}})
	if err != nil {
		t.Fatal(err)
	}
	srv := wiretest.Serve(t, server.New(server.Config{Handler: table}))

	before := time.Now()
	a.at.Store(&before)
	expect(t, get(t, srv, "/page.html"), 200, "version 1") // filled: checked after before
	rewriteInPlace(t, p, "version 2")
	expect(t, get(t, srv, "/page.html"), 200, "version 1")
	after := time.Now()
	a.at.Store(&after)
	expect(t, get(t, srv, "/page.html"), 200, "version 2")
	var none time.Time
	a.at.Store(&none)
	rewriteInPlace(t, p, "version 3")
	expect(t, get(t, srv, "/page.html"), 200, "version 3")
	a.at.Store(&before) // the entry was refilled after before
	rewriteInPlace(t, p, "version 4")
	expect(t, get(t, srv, "/page.html"), 200, "version 3")
}

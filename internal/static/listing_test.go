package static_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"nave/internal/static"
	"nave/internal/wiretest"
)

// listingFixture is a folder to browse: files of known sizes and times,
// a subfolder, a hidden file, a name that needs escaping, and symlinks
// that lead in and out of the root.
func listingFixture(t *testing.T) (root string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	writeFiles(t, base, map[string]string{
		"outside.txt":            "outside",
		"root/files/alpha.txt":   strings.Repeat("a", 10),
		"root/files/Beta.txt":    strings.Repeat("b", 3000),
		"root/files/gamma.bin":   strings.Repeat("c", 2<<20),
		"root/files/.secret":     "hidden",
		"root/files/a <b>&c.txt": "x",
		"root/files/sub/x.txt":   "x",
	})
	times := map[string]time.Time{
		"alpha.txt":   time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC),
		"Beta.txt":    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		"gamma.bin":   time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		"a <b>&c.txt": time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC),
	}
	for name, mt := range times {
		os.Chtimes(filepath.Join(root, "files", name), mt, mt)
	}
	os.Symlink("alpha.txt", filepath.Join(root, "files", "link-in.txt"))
	os.Symlink("../../outside.txt", filepath.Join(root, "files", "link-out.txt"))
	os.Symlink("nowhere", filepath.Join(root, "files", "broken"))
	return root
}

type jsonEntry struct {
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	IsDir     bool      `json:"is_dir"`
	IsSymlink bool      `json:"is_symlink"`
	Size      int64     `json:"size"`
	ModTime   time.Time `json:"mod_time"`
}

func listJSON(t *testing.T, srv *wiretest.Server, target string) []jsonEntry {
	t.Helper()
	r := get(t, srv, target, "Accept: application/json")
	expect(t, r, 200, "")
	if r.Get("Content-Type") != "application/json" || r.Get("Vary") != "Accept" {
		t.Fatalf("JSON listing head:\n%s", r.Head)
	}
	var entries []jsonEntry
	if err := json.Unmarshal(r.Body, &entries); err != nil {
		t.Fatalf("JSON listing: %v\n%s", err, r.Body)
	}
	return entries
}

func names(entries []jsonEntry) string {
	var n []string
	for _, e := range entries {
		n = append(n, e.Name)
	}
	return strings.Join(n, ",")
}

func TestListing(t *testing.T) {
	root := listingFixture(t)
	srv, _ := serve(t, static.Config{Dir: root, Browse: true}, true)

	entries := listJSON(t, srv, "/files/")
	if got, want := names(entries), "sub,a <b>&c.txt,alpha.txt,Beta.txt,gamma.bin,link-in.txt"; got != want {
		t.Errorf("entries %s, want %s (folders first, by name, no hidden, no links out)", got, want)
	}
	for _, e := range entries {
		switch e.Name {
		case "sub":
			if !e.IsDir || e.URL != "./sub/" {
				t.Errorf("sub: %+v", e)
			}
		case "a <b>&c.txt":
			if e.URL != "./a%20%3Cb%3E&c.txt" || e.Size != 1 {
				t.Errorf("escaped name: %+v", e)
			}
		case "Beta.txt":
			if e.Size != 3000 || !e.ModTime.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("Beta.txt: %+v", e)
			}
		case "link-in.txt":
			if !e.IsSymlink || e.Size != 10 {
				t.Errorf("link-in.txt: %+v", e)
			}
		}
	}
	sorts := map[string]string{
		"?sort=size&order=desc": "sub,gamma.bin,Beta.txt,alpha.txt,link-in.txt,a <b>&c.txt",
		"?sort=size":            "sub,a <b>&c.txt,alpha.txt,link-in.txt,Beta.txt,gamma.bin",
		"?sort=name&order=desc": "sub,link-in.txt,gamma.bin,Beta.txt,alpha.txt,a <b>&c.txt",
		"?sort=bogus":           "sub,a <b>&c.txt,alpha.txt,Beta.txt,gamma.bin,link-in.txt",
	}
	for q, want := range sorts {
		if got := names(listJSON(t, srv, "/files/"+q)); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	bySize := names(listJSON(t, srv, "/files/?sort=time"))
	if !strings.HasPrefix(bySize, "sub,a <b>&c.txt,Beta.txt,gamma.bin,alpha.txt") {
		t.Errorf("?sort=time: %s", bySize)
	}

	r := get(t, srv, "/files/", "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	expect(t, r, 200, "")
	html := string(r.Body)
	if r.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", r.Get("Content-Type"))
	}
	for _, want := range []string{
		"<title>Index of /files/</title>",
		`<a href="./a%20%3Cb%3E&amp;c.txt">`, "a &lt;b&gt;&amp;c.txt</a>",
		`href="./sub/"`, ">sub/</a>", `href="../"`,
		`title="3000 bytes">2.9 KiB<`, ">2.0 MiB<",
		`<time datetime="2024-01-01T00:00:00Z">2024-01-01 00:00</time>`,
		`href="?sort=size&amp;order=asc"`, `href="?sort=name&amp;order=desc"`,
		"1 folder, 5 files",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML listing lacks %q", want)
		}
	}
	for _, bad := range []string{".secret", "link-out", "broken", "<script"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML listing has %q", bad)
		}
	}
	if root := string(get(t, srv, "/").Body); strings.Contains(root, `href="../"`) {
		t.Error("the root's listing links to its parent")
	}
	expect(t, request(t, srv, "HEAD", "/files/"), 200, "")
	expect(t, get(t, srv, "/files"), 301, "")

	off, _ := serve(t, static.Config{Dir: root}, true)
	expect(t, get(t, off, "/files/"), 404, "")
	hidden, _ := serve(t, static.Config{Dir: root, Browse: true, ShowHidden: true}, true)
	if got := names(listJSON(t, hidden, "/files/")); !strings.Contains(got, ".secret") {
		t.Errorf("ShowHidden listing: %s", got)
	}
}

// TestListingInChromium loads the listing in headless Chromium (Debian's
// chromium), checks the entries in the DOM it builds, follows a sort
// link's target, and takes a screenshot into the test's temp dir.
func TestListingInChromium(t *testing.T) {
	bin := chromium(t)
	root := listingFixture(t)
	srv, _ := serve(t, static.Config{Dir: root, Browse: true}, true)
	profile := t.TempDir()
	run := func(extra ...string) []byte {
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + profile}, extra...)
		if wiretest.TLSMode() {
			// The test's CA is in no store Chromium reads; this test is
			// about the listing, internal/cli's is about trust.
			args = append(args, "--ignore-certificate-errors")
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "HOME="+profile)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, out)
		}
		return out
	}
	dom := string(run("--dump-dom", srv.URL("/files/")))
	rows := regexp.MustCompile(`<td class="name"><a href="([^"]+)"[^>]*>.*?</svg>([^<]+)</a>`).FindAllStringSubmatch(dom, -1)
	var got []string
	for _, m := range rows {
		got = append(got, m[2])
	}
	want := "Parent folder,sub/,a &lt;b&gt;&amp;c.txt,alpha.txt,Beta.txt,gamma.bin,link-in.txt"
	if strings.Join(got, ",") != want {
		t.Errorf("rows in Chromium's DOM: %s\nwant %s", strings.Join(got, ","), want)
	}
	sorted := string(run("--dump-dom", srv.URL("/files/?sort=size&order=desc")))
	if i, j := strings.Index(sorted, ">gamma.bin<"), strings.Index(sorted, ">alpha.txt<"); i < 0 || j < 0 || i > j {
		t.Error("sorted by size, descending: gamma.bin does not come before alpha.txt")
	}
	shot := filepath.Join(t.TempDir(), "listing.png")
	run("--screenshot="+shot, "--window-size=1200,900", "--hide-scrollbars", srv.URL("/files/"))
	info, err := os.Stat(shot)
	if err != nil || info.Size() < 5000 {
		t.Fatalf("screenshot %s: %v (%v bytes)", shot, err, info)
	}
	if dst := os.Getenv("NAVE_LISTING_SCREENSHOT"); dst != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(dst, data, 0o644)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, info.Size())
}

// chromium finds Debian's chromium, or skips: unless running under CI
// (CI=true), where its absence is a failure.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (scripts/deps.sh installs it); CI=true, so this fails instead of skipping")
	}
	t.Skip("chromium is not installed: run scripts/deps.sh (apt-get install chromium) to test the listing in a browser")
	return ""
}

// TestPrefix: a handler mounted under a URL prefix puts it in its
// redirects and a listing's links.
func TestPrefix(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"files/sub/a.txt": "a"})
	srv, _ := serveAt(t, static.Config{Dir: root, Browse: true}, true, "/assets/")
	r := get(t, srv, "/assets/files?x=1")
	expect(t, r, 301, "")
	if loc := r.Get("Location"); loc != "/assets/files/?x=1" {
		t.Errorf("Location %q, want /assets/files/?x=1", loc)
	}
	r = get(t, srv, "/assets/files/sub/", "Accept: text/html")
	expect(t, r, 200, "")
	html := string(r.Body)
	for _, want := range []string{"<title>Index of /assets/files/sub/</title>", `href="/assets/"`, `href="/assets/files/"`, `href="/assets/files/sub/"`} {
		if !strings.Contains(html, want) {
			t.Errorf("listing lacks %s:\n%s", want, html)
		}
	}
}

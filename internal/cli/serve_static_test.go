package cli

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestParseServeStaticFlags: each file-server flag lands in static.Config.
func TestParseServeStaticFlags(t *testing.T) {
	o, err := parseServe([]string{"site",
		"--index", "index.html, index.htm,,", "--browse", "--show-hidden", "--follow-symlinks",
		"--error-page", "404=/errors/404.html", "--error-page", "500=/oops.html", "--error-page", "404=/nf.html",
		"--cache-control", "public, max-age=60", "--gzip", "--file-cache", "16m", "--file-cache-valid", "2s"})
	if err != nil {
		t.Fatal(err)
	}
	c := o.static
	if !reflect.DeepEqual(c.Index, []string{"index.html", "index.htm"}) || !c.Browse || !c.ShowHidden ||
		!c.FollowSymlinks || !c.Gzip || c.CacheControl != "public, max-age=60" || c.CacheBytes != 16<<20 || c.CacheValid != 2*time.Second {
		t.Errorf("static config %+v", c)
	}
	if want := map[int]string{404: "/nf.html", 500: "/oops.html"}; !reflect.DeepEqual(c.ErrorPages, want) {
		t.Errorf("error pages %v, want %v (the last 404 wins)", c.ErrorPages, want)
	}
	for _, off := range []string{"off", "0"} {
		o, err := parseServe([]string{"--file-cache", off})
		if err != nil || o.static.CacheBytes >= 0 {
			t.Errorf("--file-cache %s: %d, %v; want negative (no cache)", off, o.static.CacheBytes, err)
		}
	}
	o, _ = parseServe(nil)
	if o.static.Index != nil || o.static.Browse || o.static.Gzip || o.static.CacheBytes != 0 || o.static.ErrorPages != nil || o.static.CacheValid != 0 {
		t.Errorf("defaults: %+v", o.static)
	}
}

func TestServeStaticUsageErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "404.html"), []byte("nf"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"error_page_no_equals", []string{"serve", "--error-page", "404"}, "want CODE=PATH"},
		{"error_page_bad_code", []string{"serve", "--error-page", "abc=/x.html"}, "want CODE=PATH"},
		{"error_page_not_error", []string{"serve", "--error-page", "200=/x.html"}, "only error statuses"},
		{"error_page_missing_file", []string{"serve", dir, "--error-page", "404=/nope.html"}, "/nope.html is not a file in the root"},
		{"index_empty", []string{"serve", "--index", ","}, "names nothing"},
		{"index_with_slash", []string{"serve", dir, "--index", "a/b.html"}, "without slashes"},
		{"file_cache_bad", []string{"serve", "--file-cache", "lots"}, "or off"},
		{"file_cache_valid_negative", []string{"serve", "--file-cache-valid", "-1s"}, "must not be negative"},
		{"file_cache_valid_bad", []string{"serve", "--file-cache-valid", "soon"}, "file-cache-valid"},
		{"cache_control_control_char", []string{"serve", dir, "--cache-control", "a\x01b"}, "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runMain(tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
			if strings.Count(strings.TrimSpace(errOut), "\n") != 0 || strings.Contains(out, "Serving") {
				t.Errorf("stderr %q, stdout %q", errOut, out)
			}
		})
	}
}

// TestServeStaticFlags runs nave serve with the file-server flags and
// checks each one's effect over a socket.
func TestServeStaticFlags(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"home.htm":        "home via --index",
		"docs/a.txt":      "a",
		".env":            "SECRET=1",
		"errors/404.html": "<h1>custom not found</h1>",
		"app.js":          strings.Repeat("console.log(1);\n", 200),
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	outside := filepath.Join(t.TempDir(), "outside.txt")
	os.WriteFile(outside, []byte("outside the root"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "out.txt"))

	addr, _ := startServe(t, dir, "--access-log", "off", "--index", "index.html,home.htm", "--browse",
		"--error-page", "404=/errors/404.html", "--cache-control", "max-age=60", "--gzip", "--file-cache", "off")
	get := func(target string, fields ...string) string {
		return exchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"+strings.Join(fields, "")+"\r\n")
	}
	if got := get("/"); !strings.HasSuffix(got, "\r\n\r\nhome via --index") || !strings.Contains(got, "\r\nCache-Control: max-age=60\r\n") {
		t.Errorf("--index, --cache-control: %q", got)
	}
	if got := get("/docs/"); !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.Contains(got, `href="./a.txt"`) {
		t.Errorf("--browse: %q", got)
	}
	if got := get("/nope"); !strings.HasPrefix(got, "HTTP/1.1 404 ") || !strings.HasSuffix(got, "<h1>custom not found</h1>") {
		t.Errorf("--error-page: %q", got)
	}
	if got := get("/.env"); !strings.HasPrefix(got, "HTTP/1.1 404 ") || strings.Contains(got, "SECRET") {
		t.Errorf("hidden by default: %q", got)
	}
	if got := get("/out.txt"); !strings.HasPrefix(got, "HTTP/1.1 404 ") {
		t.Errorf("symlink out, not followed by default: %q", got)
	}
	if got := get("/app.js", "Accept-Encoding: gzip\r\n"); !strings.Contains(got, "\r\nContent-Encoding: gzip\r\n") {
		t.Errorf("--gzip: %q", got[:min(len(got), 400)])
	}

	addr2, _ := startServe(t, dir, "--access-log", "off", "--show-hidden", "--follow-symlinks")
	get2 := func(target string) string {
		return exchange(t, addr2, "GET "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	}
	if got := get2("/.env"); !strings.HasSuffix(got, "SECRET=1") {
		t.Errorf("--show-hidden: %q", got)
	}
	if got := get2("/out.txt"); !strings.HasSuffix(got, "outside the root") {
		t.Errorf("--follow-symlinks: %q", got)
	}
	if got := get2("/docs/"); !strings.HasPrefix(got, "HTTP/1.1 404 ") {
		t.Errorf("no --browse: %q", got)
	}
}

func TestServeUsageNamesStaticFlags(t *testing.T) {
	for _, flag := range []string{"--index", "--browse", "--show-hidden", "--follow-symlinks", "--error-page",
		"--cache-control", "--gzip", "--file-cache", "--file-cache-valid", "docs/static.md"} {
		if !strings.Contains(serveUsage, flag) {
			t.Errorf("serve usage does not mention %s", flag)
		}
	}
}

// TestUsageNamesEveryServerFlag: every flag the serving commands share is
// in the help of nave serve, nave wsgi and nave asgi.
func TestUsageNamesEveryServerFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var f serverFlags
	f.register(fs)
	fs.VisitAll(func(fl *flag.Flag) {
		for name, usage := range map[string]string{"serve": serveUsage, "wsgi": wsgiUsage + serverFlagsUsage, "asgi": asgiUsage + serverFlagsUsage} {
			if !strings.Contains(usage, "--"+fl.Name) {
				t.Errorf("nave %s --help does not mention --%s", name, fl.Name)
			}
		}
	})
}

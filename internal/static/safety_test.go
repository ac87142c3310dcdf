package static_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"nave/internal/static"
	"nave/internal/wiretest"
)

const secret = "TOP-SECRET-OUTSIDE-THE-ROOT"

// outsideFixture makes base/root (served) and, beside it, base/secret.txt
// and base/private/key.txt, with symlinks in the root that lead out.
func outsideFixture(t *testing.T) (base, root string) {
	t.Helper()
	base = t.TempDir()
	root = filepath.Join(base, "root")
	writeFiles(t, base, map[string]string{
		"secret.txt":                    secret,
		"private/key.txt":               secret,
		"root/index.html":               "home",
		"root/sub/page.txt":             "page",
		"root/.env":                     secret,
		"root/.htpasswd":                secret,
		"root/.git/config":              secret,
		"root/.git/HEAD":                secret,
		"root/.well-known/security.txt": "Contact: mailto:security@example.com",
	})
	links := map[string]string{
		"root/escape":       "..",                              // folder outside
		"root/secret-link":  "../secret.txt",                   // file outside
		"root/abs-link":     filepath.Join(base, "secret.txt"), // absolute
		"root/private-link": filepath.Join(base, "private"),    // folder outside
		"root/inside-link":  "sub/page.txt",                    // stays inside
		"root/inside-dir":   "sub",                             // folder inside
		"root/sub/up":       "../index.html",                   // up, still inside
		"root/loop":         "loop",                            // a loop
		"root/dangling":     "nowhere",                         // broken
		"root/sub/deep-out": "../../private/key.txt",           // out from deeper
		"root/etc-passwd":   "/etc/passwd",                     // the classic
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(base, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	return base, root
}

// traversalCorpus is every spelling of "go up" we know, each aimed at
// secret.txt beside the root.
var traversalCorpus = []string{
	"/../secret.txt",
	"/../../../../../../../../secret.txt",
	"/sub/../../secret.txt",
	"/./../secret.txt",
	"//../secret.txt",
	"/%2e%2e/secret.txt",
	"/%2E%2E/secret.txt",
	"/%2e./secret.txt",
	"/.%2e/secret.txt",
	"/%2E./secret.txt",
	"/..%2fsecret.txt",
	"/..%2Fsecret.txt",
	"/%2e%2e%2fsecret.txt",
	"/sub%2f..%2f..%2fsecret.txt",
	"/..%5csecret.txt",
	"/..%5Csecret.txt",
	"/..\\secret.txt",
	"/sub\\..\\..\\secret.txt",
	"/%252e%252e/secret.txt",
	"/%252e%252e%252fsecret.txt",
	"/..%252fsecret.txt",
	"/%c0%ae%c0%ae/secret.txt",
	"/..%c0%afsecret.txt",
	"/%u002e%u002e/secret.txt",
	"/...../secret.txt",
	"/..;/secret.txt",
	"/..%00/secret.txt",
	"/index.html%00/../../secret.txt",
	"/secret.txt%00.html",
	"/escape/secret.txt",
	"/escape/root/../secret.txt",
	"/secret-link",
	"/abs-link",
	"/private-link/key.txt",
	"/sub/deep-out",
	"/etc-passwd",
	"/%2fetc%2fpasswd",
	"/etc/passwd",
	"/escape/private/key.txt",
}

// TestTraversal sends the corpus over raw sockets, in origin and
// absolute form: no response may carry the secret, and each is 404 or
// 400 (400 for a malformed escape, or what the parser refuses).
func TestTraversal(t *testing.T) {
	base, root := outsideFixture(t)
	srv, _ := serve(t, static.Config{Dir: root}, true)
	corpus := append([]string(nil), traversalCorpus...)
	corpus = append(corpus, filepath.ToSlash(filepath.Join(base, "secret.txt"))) // an absolute path
	for _, target := range corpus {
		for _, form := range []string{target, "http://test" + target} {
			t.Run(form, func(t *testing.T) {
				status, got := rawExchange(t, srv, "GET "+form+" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
				if strings.Contains(got, secret) || strings.Contains(got, "root:x:0:0") {
					t.Fatalf("LEAK: %q", got)
				}
				if status != 404 && status != 400 {
					t.Fatalf("got %q, want 404 or 400", firstLine(got))
				}
			})
		}
	}
	// NUL as a raw byte never reaches the handler: 400 over HTTP/1.1;
	// over HTTP/2 the request is malformed (RFC 9113 §8.2.1), its stream
	// reset with PROTOCOL_ERROR (§8.1.1), or answered 400.
	status, got := rawExchange(t, srv, "GET /index.html\x00 HTTP/1.1\r\nHost: test\r\n\r\n")
	if status != 400 && !(wiretest.H2Mode() && status == 0 && strings.Contains(got, "PROTOCOL_ERROR")) {
		t.Errorf("raw NUL: %q", firstLine(got))
	}
}

// TestTraversalFollowSymlinks: FollowSymlinks lets symlinks lead out, but
// ".." in a request still cannot.
func TestTraversalFollowSymlinks(t *testing.T) {
	_, root := outsideFixture(t)
	srv, _ := serve(t, static.Config{Dir: root, FollowSymlinks: true}, true)
	expect(t, get(t, srv, "/secret-link"), 200, secret)
	expect(t, get(t, srv, "/private-link/key.txt"), 200, secret)
	expect(t, get(t, srv, "/sub/deep-out"), 200, secret)
	for _, target := range []string{"/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/sub/../../secret.txt"} {
		if _, got := rawExchange(t, srv, "GET "+target+" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"); strings.Contains(got, secret) {
			t.Errorf("%s leaked with FollowSymlinks", target)
		}
	}
}

// TestSymlinksInside: symlinks that stay in the root work, always.
func TestSymlinksInside(t *testing.T) {
	_, root := outsideFixture(t)
	srv, _ := serve(t, static.Config{Dir: root}, true)
	for range 2 { // filled, then cached
		expect(t, get(t, srv, "/inside-link"), 200, "page")
		expect(t, get(t, srv, "/inside-dir/page.txt"), 200, "page")
		expect(t, get(t, srv, "/sub/up"), 200, "home")
		expect(t, get(t, srv, "/loop"), 404, "")
		expect(t, get(t, srv, "/dangling"), 404, "")
	}
	expect(t, get(t, srv, "/inside-dir"), 301, "")
}

// TestHidden: dotfiles and dot-folders are 404 unless ShowHidden, except
// .well-known.
func TestHidden(t *testing.T) {
	_, root := outsideFixture(t)
	srv, _ := serve(t, static.Config{Dir: root}, true)
	for _, target := range []string{"/.env", "/.htpasswd", "/.git/config", "/.git/HEAD", "/.git/", "/.git", "/%2egit/config", "/sub/../.env", "/.env/"} {
		if r := get(t, srv, target); r.Status != 404 || strings.Contains(string(r.Body), secret) {
			t.Errorf("%s: %d %q", target, r.Status, trim(r.Body))
		}
	}
	expect(t, get(t, srv, "/.well-known/security.txt"), 200, "Contact: mailto:security@example.com")

	shown, _ := serve(t, static.Config{Dir: root, ShowHidden: true}, true)
	expect(t, get(t, shown, "/.env"), 200, secret)
	expect(t, get(t, shown, "/.git/config"), 200, secret)
}

// rawExchange sends raw and returns the status and all that came back:
// over HTTP/1.1 the raw bytes until the server closes, which must start
// with a status line (status 0 if not); over HTTP/2, where the request
// travels as a stream, the response's head and body, or (status 0) why
// none came.
func rawExchange(t *testing.T, srv *wiretest.Server, raw string) (int, string) {
	t.Helper()
	c := srv.Dial(t)
	defer c.Close()
	c.Send(raw)
	if c.H2() {
		method, _, _ := strings.Cut(raw, " ")
		r, err := c.TryRead(method)
		if err != nil {
			return 0, err.Error()
		}
		return r.Status, r.Head + string(r.Body)
	}
	got := string(c.ReadAll())
	status := 0
	if rest, ok := strings.CutPrefix(firstLine(got), "HTTP/1.1 "); ok && len(rest) >= 3 {
		status, _ = strconv.Atoi(rest[:3])
	}
	return status, got
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

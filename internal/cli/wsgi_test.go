package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testPython is the interpreter the tests use: Debian's, with Flask
// (scripts/deps.sh installs it).
const testPython = "/usr/bin/python3"

func needPython(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Python workers")
	}
	if _, err := os.Stat(testPython); err != nil {
		t.Fatalf("%s is missing: run scripts/deps.sh", testPython)
	}
	// Workers inherit it: no __pycache__ folders in testdata.
	t.Setenv("PYTHONDONTWRITEBYTECODE", "1")
}

// writeApp writes a one-file app into a new folder and returns it.
func writeApp(t *testing.T, name, source string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const pidApp = `import os, time

def app(environ, start_response):
    if environ["PATH_INFO"] == "/sleep":
        time.sleep(float(environ["QUERY_STRING"] or "1"))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s %s %s" % (os.getpid(), environ["SCRIPT_NAME"], environ["PATH_INFO"])).encode()]
`

func TestWSGIUsageErrors(t *testing.T) {
	dir := writeApp(t, "app.py", pidApp)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "want one MODULE:CALLABLE, got 0 arguments"},
		{[]string{"a:b", "c:d"}, "want one MODULE:CALLABLE, got 2 arguments"},
		{[]string{":app"}, `":app" is not MODULE:CALLABLE`},
		{[]string{"--workers", "-1", "app:app"}, "--workers must be positive"},
		{[]string{"--timeout", "soon", "app:app"}, `--timeout: "soon" is not seconds or a duration`},
		{[]string{"--timeout", "-3", "app:app"}, `--timeout: "-3" is negative`},
		{[]string{"--backlog", "0", "app:app"}, "--backlog must be positive"},
		{[]string{"--max-requests", "-1", "app:app"}, "--max-requests must be 0 or more"},
		{[]string{"--static", "nope", "app:app"}, `"nope" is not URLPREFIX=DIR`},
		{[]string{"--static", "/=" + dir, "app:app"}, "would hide the app"},
		{[]string{"--static", "/s=/no/such/dir", "--python", testPython, "app:app"}, "--static /no/such/dir: not a folder"},
		{[]string{"--mount", "app", "app:app"}, `--mount "app" must start with /`},
		{[]string{"--python", "/no/such/python", "app:app"}, "no Python interpreter"},
		{[]string{"--python", testPython, "--chdir", "/no/such/dir", "app:app"}, "--chdir /no/such/dir: not a folder"},
		{[]string{"--head-timeout", "0s", "app:app"}, "--head-timeout must be positive"},
		{[]string{"--bogus", "app:app"}, "flag provided but not defined: -bogus"},
	} {
		code, _, stderr := runMain(append([]string{"wsgi"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestWSGIHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "wsgi"}, {"wsgi", "--help"}} {
		code, out, _ := runMain(args...)
		if code != 0 || !strings.Contains(out, "Usage: nave wsgi") || !strings.Contains(out, "--max-requests") {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
	if _, out, _ := runMain("help"); !strings.Contains(out, "nave wsgi") {
		t.Errorf("main usage does not list wsgi: %q", out)
	}
}

// TestWSGIImportFailure: an app that cannot import stops nave at once,
// with the traceback and one line naming the exception; exit 1.
func TestWSGIImportFailure(t *testing.T) {
	needPython(t)
	dir := writeApp(t, "broken.py", "import json\nimport no_such_module_anywhere\n")
	start := time.Now()
	code, _, stderr := runMain("wsgi", "--python", testPython, "--chdir", dir, "--listen", "127.0.0.1:0", "--workers", "3", "broken:app")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if want := "nave wsgi: cannot import app 'broken:app': ModuleNotFoundError: No module named 'no_such_module_anywhere'"; last != want {
		t.Errorf("last line %q, want %q\nstderr:\n%s", last, want, stderr)
	}
	if !strings.Contains(stderr, "Traceback (most recent call last):") || !strings.Contains(stderr, "broken.py\", line 2") {
		t.Errorf("no traceback in stderr:\n%s", stderr)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v: a restart loop?", d)
	}
}

func TestChoosePython(t *testing.T) {
	venv := t.TempDir()
	os.Mkdir(filepath.Join(venv, "bin"), 0o755)
	fake := filepath.Join(venv, "bin", "python")
	os.Symlink(testPython, fake)
	t.Setenv("VIRTUAL_ENV", venv)
	if got, err := choosePython(""); err != nil || got != fake {
		t.Errorf("with VIRTUAL_ENV: got %q, %v; want %q", got, err, fake)
	}
	if got, err := choosePython(testPython); err != nil || got != testPython {
		t.Errorf("--python wins: got %q, %v", got, err)
	}
	t.Setenv("VIRTUAL_ENV", "")
	got, err := choosePython("")
	if err != nil || filepath.Base(got) != "python3" {
		t.Errorf("without VIRTUAL_ENV: got %q, %v; want python3 from PATH", got, err)
	}
}

func TestParseSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"30", 30 * time.Second}, {"1.5", 1500 * time.Millisecond}, {"2m", 2 * time.Minute}, {"0", -1}, {"0s", -1},
	} {
		if got, err := parseSeconds(tc.in); err != nil || got != tc.want {
			t.Errorf("parseSeconds(%q): got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

var wsgiServingLine = regexp.MustCompile(`Serving WSGI app \S+ \(\d+ workers?, Python 3\.\d+\.\d+ at \S+\) on .* \(http://(127\.0\.0\.1:\d+)/\)`)

// startWSGI runs Main("wsgi", args...) until the test ends and returns the
// address it printed.
func startWSGI(t *testing.T, args ...string) (addr string, stderr *syncBuffer) {
	t.Helper()
	needPython(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	stderr = new(syncBuffer)
	done := make(chan int)
	args = append([]string{"wsgi", "--listen", "127.0.0.1:0", "--python", testPython, "--access-log", "off"}, args...)
	go func() { done <- Main(ctx, args, &out, stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("wsgi exited %d, stderr %q", code, stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := wsgiServingLine.FindStringSubmatch(out.String()); m != nil {
			return m[1], stderr
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no serving line; stdout %q stderr %q", out.String(), stderr.String())
	return "", nil
}

// TestWSGIServe: the app under --mount, static files beside it, 404
// elsewhere.
func TestWSGIServe(t *testing.T) {
	dir := writeApp(t, "app.py", pidApp)
	static := t.TempDir()
	os.WriteFile(filepath.Join(static, "style.css"), []byte("h1 { color: red }\n"), 0o644)
	os.Mkdir(filepath.Join(static, "css"), 0o755)
	addr, _ := startWSGI(t, "--chdir", dir, "--workers", "2", "--mount", "/app",
		"--static", "/static/="+static, "app:app")
	got := exchange(t, addr, "GET /app/x/y HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || !regexp.MustCompile(`\r\n\r\n\d+ /app /x/y$`).MatchString(got) {
		t.Errorf("app: got %q", got)
	}
	got = exchange(t, addr, "GET /static/style.css HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(got, "\r\n\r\nh1 { color: red }\n") {
		t.Errorf("static: got %q", got)
	}
	got = exchange(t, addr, "GET /static/css HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 301 ") || !strings.Contains(got, "\r\nLocation: /static/css/\r\n") {
		t.Errorf("static folder without its slash: got %q", got)
	}
	got = exchange(t, addr, "GET /elsewhere HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 404 ") {
		t.Errorf("outside the mount: got %q", got)
	}
}

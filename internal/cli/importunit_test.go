package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// unitSite is a Unit configuration as its users write them: static files
// under /static/ from a share, everything else to a WSGI app in a
// virtualenv, with its working directory and environment.
const unitSite = `{
  "listeners": {"127.0.0.1:0": {"pass": "routes/main"}},
  "routes": {
    "main": [
      {"match": {"uri": "/static/*"}, "action": {"share": "@DIR@/www$uri"}},
      {"match": {"uri": "/old"}, "action": {"return": 301, "location": "/app/"}},
      {"action": {"pass": "applications/hello"}}
    ]
  },
  "applications": {
    "hello": {
      "type": "python 3",
      "home": "@DIR@/venv",
      "working_directory": "@DIR@/app",
      "module": "hello",
      "environment": {"GREETING": "from unit"},
      "processes": 2
    }
  }
}`

const helloApp = `import os
def application(environ, start_response):
    body = ("%s at %s%s\n" % (os.environ["GREETING"], environ["SCRIPT_NAME"], environ["PATH_INFO"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`

// TestBinaryImportUnit: a converted Unit config passes nave validate and
// serves: a file from the share, the WSGI app, the redirect.
func TestBinaryImportUnit(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	for _, d := range []string{"www/static", "app", "venv/bin"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "www/static/site.css"), []byte("body{}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "app/hello.py"), []byte(helloApp), 0o644)
	os.Symlink(testPython, filepath.Join(dir, "venv/bin/python"))
	src := filepath.Join(dir, "unit.json")
	os.WriteFile(src, []byte(strings.ReplaceAll(unitSite, "@DIR@", dir)), 0o644)
	out := filepath.Join(dir, "nave.toml")

	bin := buildNave(t)
	if b, err := exec.Command(bin, "import-unit", "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("import-unit: %v\n%s", err, b)
	}
	if b, err := exec.Command(bin, "validate", out).CombinedOutput(); err != nil {
		t.Fatalf("validate: %v\n%s", err, b)
	}
	cmd := exec.Command(bin, "run", "--config", out, "--state-dir", shortTempDir(t))
	stdout, stderr := startCommand(t, cmd)
	addr := servingAddr(t, stdout, stderr, regexp.MustCompile(`\(http://(127\.0\.0\.1:\d+)/\)`))

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct{ path, want string }{
		{"/static/site.css", "body{}\n"},
		{"/app/x", "from unit at /app/x\n"},
		{"/", "from unit at /\n"},
	} {
		resp, err := client.Get("http://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != tt.want {
			t.Errorf("GET %s: got %d %q, want 200 %q", tt.path, resp.StatusCode, body, tt.want)
		}
	}
	resp, err := client.Get("http://" + addr + "/old")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/app/" {
		t.Errorf("GET /old: got %d %q, want 301 /app/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestImportUnitExit: exit 0 when all converted, 3 (file still written)
// when something was lost, each loss on stderr; 2 for a file that is not
// a Unit configuration.
func TestImportUnitExit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	clean := write("clean.json", `{"listeners": {"*:8080": {"pass": "routes"}}, "routes": [{"action": {"return": 204}}]}`)
	lossy := write("lossy.json", `{"listeners": {"*:8080": {"pass": "routes"}}, "routes": [{"match": {"cookies": {"a": "1"}}, "action": {"return": 403}}, {"action": {"return": 204}}]}`)
	notUnit := write("not.json", `{"sites": {}}`)
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"import-unit", clean}, &stdout, &stderr); code != 0 || stderr.Len() != 0 {
		t.Errorf("clean: exit %d, stderr %q", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "[[sites.main.routes]]\nrespond = \"\"\nstatus = 204\n") {
		t.Errorf("clean: stdout %q", stdout.String())
	}
	stdout.Reset()
	out := filepath.Join(dir, "lossy.toml")
	code := Main(context.Background(), []string{"import-unit", lossy, "-o", out}, &stdout, &stderr)
	wantLine := lossy + ": routes[0].match.cookies: nave has no cookies match; the step is left out\n"
	if code != 3 || stderr.String() != wantLine {
		t.Errorf("lossy: exit %d, stderr %q, want 3 %q", code, stderr.String(), wantLine)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "#   routes[0].match.cookies: nave has no cookies match") {
		t.Errorf("lossy: the file does not list the loss:\n%s", b)
	}
	stderr.Reset()
	if code := Main(context.Background(), []string{"import-unit", notUnit}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "no listeners") {
		t.Errorf("not Unit: exit %d, stderr %q", code, stderr.String())
	}
}

package cli

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var listeningLine = regexp.MustCompile(`^Listening as main on .* \(http://(127\.0\.0\.1:\d+)/\)`)

// startRun writes config into dir as nave.toml and starts nave run
// on it, returning the address it listens on.
func startRun(t *testing.T, dir, config string) string {
	t.Helper()
	needPython(t)
	file := filepath.Join(dir, "nave.toml")
	if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(buildNave(t), "run", "--config", file, "--state-dir", shortTempDir(t))
	stdout, stderr := startCommand(t, cmd)
	return servingAddr(t, stdout, stderr, listeningLine)
}

// servingAddr waits for the first line of a command's output and returns
// the address re finds in it.
func servingAddr(t *testing.T, stdout io.Reader, stderr *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-lines:
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("first line %q; stderr %q", line, stderr.String())
		}
		return m[1]
	case <-time.After(30 * time.Second):
		t.Fatalf("nave printed no serving line; stderr %q", stderr.String())
	}
	return ""
}

const twoSites = `
[listeners.main]
address = "127.0.0.1:0"

[log]
access = "off"

[apps.flask]
module = "app:app"
python = "/usr/bin/python3"
chdir = "flask"
workers = 1

[sites.files]
hosts = ["www.test", "*.files.test"]
set_headers = { X-Frame-Options = "DENY" }

[[sites.files.routes]]
match = { path = "/health", methods = ["GET"] }
respond = "ok on $host\n"
status = 200

[[sites.files.routes]]
root = "www"
set_headers = { Cache-Control = "max-age=60", X-Frame-Options = "SAMEORIGIN" }

[sites.api]
hosts = ["api.test"]
remove_headers = ["X-Powered-By"]

[[sites.api.routes]]
match = { path = "/api/" }
app = "flask"

[[sites.api.routes]]
respond = "no such API\n"
status = 404

[sites.old]
hosts = ["old.test"]

[[sites.old.routes]]
redirect = "http://www.test$request_uri"
status = 301
`

const flaskApp = `from flask import Flask, jsonify, request
app = Flask(__name__)

@app.route("/hello")
def hello():
    r = jsonify(path=request.path, script_name=request.script_root, q=request.args.get("q"))
    r.headers["X-Powered-By"] = "Flask"
    return r
`

// TestBinaryRun: nave run serves two sites from one file over a real
// socket: a folder with a respond route, a Flask app under /api/, a
// redirecting host, and header rules at site and route level.
func TestBinaryRun(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.MkdirAll(filepath.Join(dir, "flask"), 0o755)
	os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("<h1>files</h1>\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "flask", "app.py"), []byte(flaskApp), 0o644)
	addr := startRun(t, dir, twoSites)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		host, path string
		status     int
		body       string
		fields     map[string]string // "" means absent
	}{
		{"www.test", "/", 200, "<h1>files</h1>\n", map[string]string{"X-Frame-Options": "SAMEORIGIN", "Cache-Control": "max-age=60"}},
		{"a.files.test", "/index.html", 200, "<h1>files</h1>\n", nil},
		{"www.test", "/health", 200, "ok on www.test\n", map[string]string{"X-Frame-Options": "DENY", "Cache-Control": ""}},
		{"api.test", "/api/hello?q=1", 200, `{"path":"/hello","q":"1","script_name":"/api"}` + "\n", map[string]string{"X-Powered-By": "", "Content-Type": "application/json"}},
		{"api.test", "/other", 404, "no such API\n", nil},
		{"old.test", "/a/b?c=d", 301, "301 Moved Permanently\n", map[string]string{"Location": "http://www.test/a/b?c=d"}},
		{"nowhere.test", "/", 421, "421 Misdirected Request: no site here has this host name\n", nil},
	} {
		req, _ := http.NewRequest("GET", "http://"+addr+tt.path, nil)
		req.Host = tt.host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || string(body) != tt.body {
			t.Errorf("%s%s: got %d %q, want %d %q", tt.host, tt.path, resp.StatusCode, body, tt.status, tt.body)
		}
		for name, want := range tt.fields {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s%s: %s: got %q, want %q", tt.host, tt.path, name, got, want)
			}
		}
	}
}

// TestBinaryRunH2C: the listener's default protocols include h2c.
func TestBinaryRunDefaultsServeH2C(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("h2\n"), 0o644)
	addr := startRun(t, dir, "[listeners.main]\naddress = \"127.0.0.1:0\"\n[log]\naccess = \"off\"\n[sites.s]\n[[sites.s.routes]]\nroot = \"www\"\n")
	out, err := exec.Command("curl", "-s", "--http2-prior-knowledge", "-w", " %{http_version}", "http://"+addr+"/").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "h2\n 2" {
		t.Errorf("curl: got %q, %v", out, err)
	}
}

// TestBinaryRunTLS: an HTTPS listener from certificate files, with HSTS
// and HTTP/2 by ALPN, and a cleartext listener that redirects to it, as
// nave serve's --tls-cert, --hsts and --redirect-http do.
func TestBinaryRunTLS(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("secure\n"), 0o644)
	writePair(t, dir, "site", "a.test")
	file := filepath.Join(dir, "nave.toml")
	os.WriteFile(file, []byte(`
[listeners.https]
address = "127.0.0.1:0"
tls = { certificates = [{ cert = "site.crt", key = "site.key" }], names = ["a.test"], hsts = "1h" }

[listeners.http]
address = "127.0.0.1:0"
redirect_https = "https"

[log]
access = "off"

[sites.a]
hosts = ["a.test"]
[[sites.a.routes]]
root = "www"
`), 0o644)
	cmd := exec.Command(buildNave(t), "run", "--config", file, "--state-dir", shortTempDir(t))
	cmd.Env = append(os.Environ(), "NAVE_STATE_DIR="+t.TempDir())
	stdout, stderr := startCommand(t, cmd)
	br := bufio.NewReader(stdout)
	addrs := map[string]string{}
	line := regexp.MustCompile(`^Listening as (\w+) on .* \((https?)://(127\.0\.0\.1:\d+)/\)`)
	for range 2 {
		l, err := br.ReadString('\n')
		m := line.FindStringSubmatch(l)
		if err != nil || m == nil {
			t.Fatalf("line %q, %v; stderr %q", l, err, stderr.String())
		}
		addrs[m[1]] = m[2] + "://" + m[3]
	}
	go io.Copy(io.Discard, br)

	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, _ := http.NewRequest("GET", addrs["https"]+"/", nil)
	req.Host = "a.test"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "secure\n" || resp.Proto != "HTTP/2.0" || resp.Header.Get("Strict-Transport-Security") != "max-age=3600" {
		t.Errorf("https: got %d %s %q, HSTS %q", resp.StatusCode, resp.Proto, body, resp.Header.Get("Strict-Transport-Security"))
	}
	req, _ = http.NewRequest("GET", addrs["http"]+"/x?y=1", nil)
	req.Host = "a.test"
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(addrs["https"], "https://"), ":")
	if want := "https://a.test:" + port + "/x?y=1"; resp.StatusCode != 308 || resp.Header.Get("Location") != want {
		t.Errorf("http: got %d, Location %q, want 308 and %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

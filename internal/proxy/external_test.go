package proxy

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"nave/internal/wiretest"
)

const systemPython = "/usr/bin/python3"

// startPython runs a Python upstream and returns the address it prints
// (re's first group, from stdout or stderr); skipped without module.
func startPython(t *testing.T, module string, re *regexp.Regexp, args ...string) string {
	t.Helper()
	if err := exec.Command(systemPython, "-c", "import "+module).Run(); err != nil {
		t.Skipf("no Python module %s (apt-get install python3-%s)", module, module)
	}
	cmd := exec.Command(systemPython, args...)
	cmd.Dir = t.TempDir()
	return wiretest.StartProcess(t, cmd, re)
}

const flaskApp = `
import hashlib
from flask import Flask, request, Response
app = Flask(__name__)

@app.route("/hello")
def hello():
    return {"host": request.host, "xff": request.headers.get("X-Forwarded-For"), "path": request.path}

@app.route("/upload", methods=["POST"])
def upload():
    data = request.get_data()
    return "%d %s" % (len(data), hashlib.sha256(data).hexdigest())

@app.route("/stream")
def stream():
    def gen():
        for i in range(1000):
            yield ("line %d\n" % i) * 100
    return Response(gen(), mimetype="text/plain")
`

// TestGunicornUpstream: a Flask app under gunicorn (sync workers, which
// close every connection) behind the proxy.
func TestGunicornUpstream(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.py"), []byte(flaskApp), 0o644)
	up := startPython(t, "gunicorn", regexp.MustCompile(`Listening at: http://(127\.0\.0\.1:\d+)`),
		"-m", "gunicorn", "--chdir", dir, "-w", "2", "-b", "127.0.0.1:0", "app:app")
	_, addr := newProxy(t, Config{Servers: servers(up)})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	for i := range 5 {
		c.Send("GET /hello HTTP/1.1\r\nHost: shop.test\r\n\r\n")
		r := c.Read("GET")
		if r.Status != 200 || !strings.Contains(string(r.Body), `"xff":"127.0.0.1"`) || !strings.Contains(string(r.Body), `"host":"shop.test"`) {
			t.Fatalf("request %d: got %d %s", i, r.Status, r.Body)
		}
	}
	body := bytes.Repeat([]byte("gunicorn"), 300000)
	c.Send(fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	if r, want := c.Read("POST"), fmt.Sprintf("%d %x", len(body), sha256.Sum256(body)); string(r.Body) != want {
		t.Errorf("upload: got %q, want %q", r.Body, want)
	}
	c.Send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Read("GET"); r.Status != 200 || !bytes.HasSuffix(r.Body, []byte("line 999\n")) {
		t.Errorf("stream: got %d, %d bytes", r.Status, len(r.Body))
	}
}

// TestPythonHTTPServerUpstream: Python's http.server speaks HTTP/1.0 and
// closes after each response; files come through whole.
func TestPythonHTTPServerUpstream(t *testing.T) {
	dir := t.TempDir()
	content := bytes.Repeat([]byte("0123456789"), 200000)
	os.WriteFile(filepath.Join(dir, "big.bin"), content, 0o644)
	up := startPython(t, "http.server", regexp.MustCompile(`port (\d+)`), "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir)
	_, addr := newProxy(t, Config{Servers: servers("127.0.0.1:" + up)})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	for range 3 {
		c.Send("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
		if r := c.Read("GET"); r.Status != 200 || !bytes.Equal(r.Body, content) {
			t.Fatalf("got %d, %d bytes, want 200 with %d", r.Status, len(r.Body), len(content))
		}
	}
	c.Send("GET /nope HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Read("GET"); r.Status != 404 {
		t.Errorf("got %d, want the upstream's 404", r.Status)
	}
}

// TestPythonWebSocketUpstream: a WebSocket echo server on Python's
// websockets library, through the proxy.
func TestPythonWebSocketUpstream(t *testing.T) {
	up := startPython(t, "websockets", wiretest.WebSocketEchoAddr, "-c", wiretest.WebSocketEchoPy)
	_, addr := newProxy(t, Config{Servers: servers(up)})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if r := c.ReadHead(); r.Status != 101 || r.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("got head\n%s", r.Head)
	}
	c.Send(string(maskedText("from nave")))
	got := make([]byte, 11)
	if _, err := io.ReadFull(c.Reader(), got); err != nil || string(got) != "\x81\x09from nave" {
		t.Errorf("got %q, %v", got, err)
	}
}

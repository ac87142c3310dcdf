package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const forwardedStarletteApp = `from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def who(request):
    port = request.client.port
    return PlainTextResponse("%s %s %s" % (request.client.host, port if port else "-", request.url_for("who")))


app = Starlette(routes=[Route("/who", who, name="who")])
`

const forwardedFlaskApp = `from flask import Flask, request, url_for

app = Flask(__name__)


@app.route("/who")
def who():
    port = request.environ.get("REMOTE_PORT", "-")
    return "%s %s %s" % (request.remote_addr, port, url_for("who", _external=True))
`

// TestBinaryTrustedProxies: behind a proxy named by --trusted-proxies, a
// Starlette app (nave asgi) and a Flask app (nave wsgi) see the client
// and the scheme the proxy's X-Forwarded-For and X-Forwarded-Proto name,
// as under uvicorn's and gunicorn's proxy headers: the client's address,
// the links they make https. Without the flag, the same fields change
// nothing: the client is the connection's, the scheme http.
func TestBinaryTrustedProxies(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs Python workers")
	}
	needPython(t)
	dir := writeApp(t, "sapp.py", forwardedStarletteApp)
	if err := os.WriteFile(filepath.Join(dir, "fapp.py"), []byte(forwardedFlaskApp), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := buildNave(t)
	start := func(args ...string) string {
		kind := args[0]
		args = append([]string{kind, "--listen", "127.0.0.1:0", "--python", testPython, "--chdir", dir,
			"--workers", "1", "--access-log", "off"}, args[1:]...)
		stdout, stderr := startCommand(t, exec.Command(bin, args...))
		if kind == "asgi" {
			return servingAddr(t, stdout, stderr, asgiServingLine)
		}
		return servingAddr(t, stdout, stderr, wsgiServingLine)
	}
	// The balancer in front adds itself to a list a client may have
	// started: only what follows the last untrusted entry is believed.
	const fields = "X-Forwarded-For: 203.0.113.66, 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
	for _, tt := range []struct {
		name   string
		args   []string
		prefix string // sent before the request
		want   string
	}{
		{"asgi, trusted", []string{"asgi", "--trusted-proxies", "10.0.0.0/8, 127.0.0.1", "sapp:app"}, "", "192.0.2.7 - https://site.example/who"},
		{"wsgi, trusted", []string{"wsgi", "--trusted-proxies", "127.0.0.1", "fapp:app"}, "", "192.0.2.7 - https://site.example/who"},
		{"asgi, not trusted", []string{"asgi", "sapp:app"}, "", "127.0.0.1 "},
		{"wsgi, not trusted", []string{"wsgi", "--trusted-proxies", "10.0.0.0/8", "fapp:app"}, "", "127.0.0.1 "},
		// HAProxy's send-proxy: the balancer names the client in the
		// PROXY header, which is then the connection's address, and its
		// own fields come from that client, who is no trusted proxy.
		{"wsgi, PROXY protocol", []string{"wsgi", "--proxy-protocol", "--trusted-proxies", "127.0.0.1", "fapp:app"},
			"PROXY TCP4 198.51.100.9 127.0.0.1 40000 80\r\n", "198.51.100.9 40000 http://site.example/who"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := start(tt.args...)
			got := exchange(t, addr, tt.prefix+"GET /who HTTP/1.1\r\nHost: site.example\r\n"+fields+"Connection: close\r\n\r\n")
			_, body, _ := strings.Cut(got, "\r\n\r\n")
			if !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.HasPrefix(body, tt.want) {
				t.Fatalf("got %q, want a 200 whose body starts %q", got, tt.want)
			}
			if strings.HasSuffix(tt.name, "not trusted") {
				// The connection's own port, and the scheme it came in by.
				if f := strings.Fields(body); len(f) != 3 || f[1] == "-" || f[2] != "http://site.example/who" {
					t.Errorf("body %q: want the connection's port and http://site.example/who", body)
				}
			}
		})
	}
}

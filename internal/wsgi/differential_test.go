package wsgi_test

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"nave/internal/wiretest"
	"nave/internal/wsgi"
)

// wsgirefServer runs the probe app under wsgiref.simple_server, the
// reference, in the clear.
func wsgirefServer(t *testing.T) *wiretest.Server {
	t.Helper()
	const script = `
import sys
sys.path.insert(0, sys.argv[1])
from wsgiref.simple_server import WSGIRequestHandler, make_server
import probe

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

server = make_server("127.0.0.1", 0, probe.app, handler_class=Quiet)
print(server.server_port, flush=True)
server.serve_forever()
`
	cmd := exec.Command(python, "-c", script, appsDir(t))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	port := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		port <- strings.TrimSpace(line)
	}()
	select {
	case p := <-port:
		return &wiretest.Server{Addr: "127.0.0.1:" + p}
	case <-time.After(clientTimeout):
		t.Fatal("wsgiref did not start")
		return nil
	}
}

// fetchEnviron sends raw to srv on a new connection and decodes the
// environ the probe dumped.
func fetchEnviron(t *testing.T, srv *wiretest.Server, raw string) map[string]any {
	t.Helper()
	c := srv.Dial(t)
	defer c.Close()
	c.Send(raw)
	r, err := c.TryRead("GET")
	if err != nil || r.Status != 200 {
		t.Fatalf("%s: %v %+v", srv.Addr, err, r)
	}
	var env map[string]any
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("%s: %v: %s", srv.Addr, err, r.Body)
	}
	return env
}

// compared are the keys both servers must agree on, besides every HTTP_*.
// Left out, with the reason: SERVER_NAME and SERVER_PORT (wsgiref names
// its host and port, nave the request's Host and its listening port),
// REMOTE_PORT and REQUEST_URI (nave only), GATEWAY_INTERFACE,
// SERVER_SOFTWARE and the whole os.environ (wsgiref only),
// wsgi.input_terminated (nave only: its input always ends).
var compared = []string{
	"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
	"SERVER_PROTOCOL", "REMOTE_ADDR", "wsgi.version", "wsgi.url_scheme", "wsgi.multithread",
	"wsgi.multiprocess", "wsgi.run_once", "wsgi.input.has", "wsgi.errors.has",
}

// naveOnly are keys nave sets that wsgiref does not.
var naveOnly = map[string]bool{"REMOTE_PORT": true, "REQUEST_URI": true, "wsgi.input_terminated": true}

func TestDifferentialWsgiref(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	ref := wsgirefServer(t)
	requests := []string{
		"GET /environ?a=1&b=%20c HTTP/1.1\r\nHost: example.com\r\n",
		"GET /p%C3%A9th/%E9%20x?q=%C3%A9 HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: test/1.0\r\n",
		"GET /a%2Fb/./../c? HTTP/1.1\r\nHost: h\r\n",
		"GET /x HTTP/1.0\r\n",
		"POST /form?x HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2",
		"DELETE /thing HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\nAccept: application/json\r\nX-Custom-Header: v\r\nx-lower: w\r\n",
		"PUT /p HTTP/1.1\r\nHost: h\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}",
		"GET /latin HTTP/1.1\r\nHost: h\r\nX-Latin: caf\xe9 cr\xe8me\r\n",
		"OPTIONS /opts HTTP/1.1\r\nHost: h\r\nOrigin: http://o.example\r\n",
	}
	for _, raw := range requests {
		head, body, _ := strings.Cut(raw, "\r\n\r\n")
		req := strings.TrimSuffix(head, "\r\n") + "\r\nX-Probe: environ\r\nConnection: close\r\n\r\n" + body
		got := fetchEnviron(t, g.Server, req)
		want := fetchEnviron(t, ref, req)
		line, _, _ := strings.Cut(raw, "\r\n")
		if _, ok := got["CONTENT_TYPE"]; !ok && want["CONTENT_TYPE"] == "text/plain" {
			// wsgiref fills in a default type; PEP 3333 lets it be absent.
			delete(want, "CONTENT_TYPE")
		}
		if g.Client != nil {
			// wsgiref stays in the clear: it has no TLS of its own. Over
			// TLS nave says so (TestEnvironTLS); the rest must agree.
			want["wsgi.url_scheme"], want["HTTPS"] = "https", "on"
		}
		if g.H2 {
			// wsgiref speaks HTTP/1 alone. Over HTTP/2 nave names its
			// protocol, and Connection never reaches it (RFC 9113 §8.2.2
			// forbids the field); the rest must agree.
			want["SERVER_PROTOCOL"] = g.protocol()
			delete(want, "HTTP_CONNECTION")
		}
		if want["CONTENT_LENGTH"] == "" {
			delete(want, "CONTENT_LENGTH") // wsgiref's "" for none; PEP 3333: "may be empty or absent"
		}
		keys := append([]string{}, compared...)
		for k := range want {
			if strings.HasPrefix(k, "HTTP_") {
				keys = append(keys, k)
			}
		}
		for k := range got {
			if strings.HasPrefix(k, "HTTP_") {
				keys = append(keys, k)
			}
			if _, inRef := want[k]; !inRef && !naveOnly[k] && k != "pid" {
				t.Errorf("%s: nave sets %s = %v, wsgiref does not", line, k, got[k])
			}
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 && keys[i-1] == k {
				continue
			}
			g, w := normalize(got[k]), normalize(want[k])
			if g != w {
				t.Errorf("%s: %s: nave %q, wsgiref %q", line, k, g, w)
			}
		}
	}
}

// normalize renders a JSON value for comparison. Repeated fields are
// joined with ", " by nave and "," by wsgiref; both are RFC 9110 lists.
func normalize(v any) string {
	if v == nil {
		return "<absent>"
	}
	b, _ := json.Marshal(v)
	return strings.ReplaceAll(string(b), ", ", ",")
}

package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"nave/internal/acme/pebbletest"
	"nave/internal/config"
	"nave/internal/wiretest"
)

// TestBinaryRunProxy: nave run proxies a route to an upstream, mounted
// under a path with the prefix stripped, with forwarding fields set.
func TestBinaryRunProxy(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s host=%s xff=%s via=%s", r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("X-Forwarded-For"), r.Header.Get("Via"))
	}))
	defer up.Close()
	addr := startRun(t, t.TempDir(), fmt.Sprintf(`
[listeners.main]
address = "127.0.0.1:0"

[log]
access = "off"

[upstreams.svc]
servers = [%q]
strip_prefix = true
health = { path = "/", interval = "1s" }

[sites.main]
[[sites.main.routes]]
match = { path = "/svc/" }
proxy = "svc"

[[sites.main.routes]]
respond = "not proxied\n"
`, up.Listener.Addr().String()))
	for _, tt := range []struct{ path, want string }{
		{"/svc/a/b?c=d", "GET /a/b?c=d host=" + addr + " xff=127.0.0.1 via=1.1 nave"},
		{"/other", "not proxied\n"},
	} {
		resp, err := http.Get("http://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != tt.want {
			t.Errorf("%s: got %q, want %q", tt.path, body, tt.want)
		}
	}
}

// TestBinaryRunProxyProtocol: a listener behind a load balancer takes the
// client's address from the PROXY protocol header, and a proxy route
// forwards that address, not the balancer's.
func TestBinaryRunProxyProtocol(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "xff=%s", r.Header.Get("X-Forwarded-For"))
	}))
	defer up.Close()
	addr := startRun(t, t.TempDir(), fmt.Sprintf(`
[listeners.main]
address = "127.0.0.1:0"
proxy_protocol = true
trusted_proxies = ["127.0.0.1"]

[log]
access = "off"

[upstreams.svc]
servers = [%q]

[sites.main]
[[sites.main.routes]]
proxy = "svc"
`, up.Listener.Addr().String()))
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send("PROXY TCP4 203.0.113.9 127.0.0.1 40000 80\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Read("GET"); string(r.Body) != "xff=203.0.113.9" {
		t.Errorf("got %d %q, want xff=203.0.113.9", r.Status, r.Body)
	}
}

// TestBinaryRunProxyTrustPerListener: one site on two listeners, only one
// of which trusts the client's address as a proxy: its forwarding fields
// are believed on that listener, and replaced on the other, although the
// same client sends them to the same upstream.
func TestBinaryRunProxyTrustPerListener(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "xff=%s proto=%s", r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"))
	}))
	defer up.Close()
	public := fmt.Sprintf("127.0.0.1:%d", pebbletest.FreePort(t))
	behind := startRun(t, t.TempDir(), fmt.Sprintf(`
[listeners.main]
address = "127.0.0.1:0"
trusted_proxies = ["127.0.0.1"]

[listeners.public]
address = %q

[log]
access = "off"

[upstreams.svc]
servers = [%q]

[sites.main]
[[sites.main.routes]]
proxy = "svc"
`, public, up.Listener.Addr().String()))
	for _, tt := range []struct{ addr, want string }{
		{behind, "xff=203.0.113.9, 127.0.0.1 proto=https"},
		{public, "xff=127.0.0.1 proto=http"},
	} {
		c := wiretest.Dial(t, tt.addr)
		c.Send("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n\r\n")
		if r := c.Read("GET"); string(r.Body) != tt.want {
			t.Errorf("via %s: got %d %q, want %q", tt.addr, r.Status, r.Body, tt.want)
		}
		c.Close()
	}
}

// TestApplyKeepsUnchangedUpstream: a reload that leaves an upstream as it
// was keeps its handler, with its pools and health; one that changes it
// gets a new handler (the old one is closed once retired, after the drain).
func TestApplyKeepsUnchangedUpstream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "up") }))
	defer up.Close()
	dir := t.TempDir()
	parse := func(respond, balance string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte(fmt.Sprintf(`
[listeners.main]
address = "127.0.0.1:0"
[log]
access = "off"
[timeouts]
drain = "100ms"
[upstreams.svc]
servers = [%q]
balance = %q
[sites.main]
[[sites.main.routes]]
match = { path = "/other" }
respond = %q
[[sites.main.routes]]
proxy = "svc"
`, up.Listener.Addr().String(), balance, respond)), config.TOML, dir)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	b := startLive(t, parse("one", "round_robin"))
	first, _ := b.proxies.Running("svc")
	if got := mustGet(t, b.addr("main"), "/"); got != "up" {
		t.Fatalf("got %q", got)
	}
	if err := b.apply(parse("two", "round_robin")); err != nil {
		t.Fatal(err)
	}
	if kept, _ := b.proxies.Running("svc"); kept != first {
		t.Error("an unrelated change replaced the upstream's handler")
	}
	if err := b.apply(parse("two", "least_conn")); err != nil {
		t.Fatal(err)
	}
	if next, _ := b.proxies.Running("svc"); next == first {
		t.Error("a changed upstream kept its old handler")
	}
	if got := mustGet(t, b.addr("main"), "/"); got != "up" {
		t.Fatalf("after the change: got %q", got)
	}
}

// TestBinaryRunProxyH2C: an upstream marked h2c is spoken to over HTTP/2:
// nave itself as the server answers through it on a listener that takes
// h2c, and one whose protocols leave h2c out cannot (502).
func TestBinaryRunProxyH2C(t *testing.T) {
	up, h1only := pebbletest.FreePort(t), pebbletest.FreePort(t)
	addr := startRun(t, t.TempDir(), fmt.Sprintf(`
[listeners.main]
address = "127.0.0.1:0"

[listeners.up_h2c]
address = "127.0.0.1:%d"

[listeners.up_h1]
address = "127.0.0.1:%d"
protocols = ["h1"]

[log]
access = "off"

[upstreams.viah2]
servers = ["127.0.0.1:%d"]
h2c = true
retries = 0

[upstreams.toh1]
servers = ["127.0.0.1:%d"]
h2c = true
retries = 0

[sites.main]
listeners = ["main"]
[[sites.main.routes]]
match = { path = "/h2/" }
proxy = "viah2"
[[sites.main.routes]]
match = { path = "/h1only/" }
proxy = "toh1"

[sites.upstream]
listeners = ["up_h2c", "up_h1"]
[[sites.upstream.routes]]
respond = "from upstream $uri\n"
`, up, h1only, up, h1only))
	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"/h2/a", 200, "from upstream /h2/a\n"},
		{"/h1only/a", 502, ""},
	} {
		resp, err := http.Get("http://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || tt.want != "" && string(body) != tt.want {
			t.Errorf("%s: got %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.status, tt.want)
		}
	}
}

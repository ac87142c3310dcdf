package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixture makes a folder with a static root ("www") and an app folder
// ("app"), for configs to name.
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"www", "app"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "www", "404.html"), []byte("gone"), 0o644)
	return dir
}

const minimal = `
[sites.main]
[[sites.main.routes]]
root = "www"
`

func TestParseMinimalGetsDefaults(t *testing.T) {
	dir := fixture(t)
	c, err := Parse([]byte(minimal), TOML, dir)
	if err != nil {
		t.Fatal(err)
	}
	l := c.Listeners["main"]
	if l == nil || l.Address != DefaultListen || strings.Join(l.Protocols, ",") != "h1,h2,h2c" {
		t.Fatalf("default listener: got %+v", l)
	}
	r := c.Sites["main"].Routes[0]
	if r.Root != filepath.Join(dir, "www") {
		t.Errorf("root: got %q, want it made absolute against %q", r.Root, dir)
	}
	if strings.Join(r.Index, ",") != "index.html" || r.FileCache != 64<<20 {
		t.Errorf("files defaults: got index %q, file_cache %d", r.Index, r.FileCache)
	}
	if c.Timeouts.Drain.D() != 30*time.Second || c.Limits.MaxBody != 100<<20 || c.Log.Format != "combined" {
		t.Errorf("server defaults: got %+v %+v %+v", c.Timeouts, c.Limits, c.Log)
	}
}

const full = `
[listeners.web]
address = "127.0.0.1:0"
protocols = ["h1", "h2c"]
trusted_proxies = ["10.0.0.0/8", "::1"]

[apps.api]
module = "app:app"
python = "/usr/bin/python3"
chdir = "app"
workers = 2
timeout = "off"
environment = { DJANGO_SETTINGS_MODULE = "mysite.settings" }

[upstreams.grafana]
servers = ["127.0.0.1:3000"]

[sites.main]
hosts = ["example.com", "*.example.com"]
set_headers = { X-Frame-Options = "DENY" }

[[sites.main.routes]]
name = "static"
match = { path = "/static/" }
root = "www"
browse = true
error_pages = { 404 = "/404.html" }
file_cache = "off"
file_cache_valid = "1m"

[[sites.main.routes]]
match = { path = "/api/", methods = ["GET", "POST"], headers = { Accept = "*json*" }, query = { v = "2" } }
app = "api"
remove_headers = ["X-Powered-By"]

[[sites.main.routes]]
match = { glob = "/grafana/*" }
proxy = "grafana"

[[sites.main.routes]]
respond = ""
status = 204

[sites.old]
hosts = ["old.example.com"]
[[sites.old.routes]]
redirect = "https://example.com$request_uri"
status = 301

[limits]
max_body = "1g"
max_headers = 50

[timeouts]
idle = "10s"

[log]
access = "off"
level = "warn"
`

func TestParseFull(t *testing.T) {
	dir := fixture(t)
	c, err := Parse([]byte(full), TOML, dir)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sites["main"]
	if len(s.Routes) != 4 || s.Routes[0].Name != "static" || !s.Routes[0].Browse || s.Routes[0].FileCache != Off {
		t.Fatalf("routes: got %+v", s.Routes[0])
	}
	if m := s.Routes[1].Match; strings.Join(m.Methods, ",") != "GET,POST" || m.Headers["Accept"] != "*json*" || m.Query["v"] != "2" {
		t.Errorf("match: got %+v", m)
	}
	if a := c.Apps["api"]; a.Timeout != Off || a.Workers != 2 || a.Interface != "wsgi" || a.Environment["DJANGO_SETTINGS_MODULE"] != "mysite.settings" {
		t.Errorf("app: got %+v", a)
	}
	if r := s.Routes[3]; r.Respond == nil || *r.Respond != "" || r.Status != 204 {
		t.Errorf("respond route: got %+v", r)
	}
	if r := c.Sites["old"].Routes[0]; r.Status != 301 {
		t.Errorf("redirect status: got %d", r.Status)
	}
	if c.Limits.MaxBody != 1<<30 || c.Timeouts.Idle.D() != 10*time.Second || c.Log.Access != "off" {
		t.Errorf("server: got %+v %+v %+v", c.Limits, c.Timeouts, c.Log)
	}
}

// TestJSONSameModel: the JSON form of a config parses to the same model
// as its TOML form.
func TestJSONSameModel(t *testing.T) {
	dir := fixture(t)
	const js = `{
  "listeners": {"web": {"address": "127.0.0.1:0", "protocols": ["h1", "h2c"], "trusted_proxies": ["10.0.0.0/8", "::1"]}},
  "apps": {"api": {"module": "app:app", "python": "/usr/bin/python3", "chdir": "app", "workers": 2, "timeout": "off",
                   "environment": {"DJANGO_SETTINGS_MODULE": "mysite.settings"}}},
  "upstreams": {"grafana": {"servers": ["127.0.0.1:3000"]}},
  "sites": {
    "main": {"hosts": ["example.com", "*.example.com"], "set_headers": {"X-Frame-Options": "DENY"}, "routes": [
      {"name": "static", "match": {"path": "/static/"}, "root": "www", "browse": true, "error_pages": {"404": "/404.html"},
       "file_cache": "off", "file_cache_valid": "1m"},
      {"match": {"path": "/api/", "methods": ["GET", "POST"], "headers": {"Accept": "*json*"}, "query": {"v": "2"}},
       "app": "api", "remove_headers": ["X-Powered-By"]},
      {"match": {"glob": "/grafana/*"}, "proxy": "grafana"},
      {"respond": "", "status": 204}]},
    "old": {"hosts": ["old.example.com"], "routes": [{"redirect": "https://example.com$request_uri", "status": 301}]}
  },
  "limits": {"max_body": "1g", "max_headers": 50},
  "timeouts": {"idle": "10s"},
  "log": {"access": "off", "level": "warn"}
}`
	fromTOML, err := Parse([]byte(full), TOML, dir)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := Parse([]byte(js), JSON, dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := mustJSON(t, fromTOML), mustJSON(t, fromJSON)
	if a != b {
		t.Errorf("TOML and JSON differ:\n%s\n%s", a, b)
	}
}

// TestErrors: each bad config gets each of its errors, with its path and
// line, all at once.
func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string // "LINE: PATH: MSG", in order
	}{
		{"syntax", "[sites.main\nroot = 1\n", []string{"1: "}},
		{"unknown key with suggestion", `
[sites.main]
[[sites.main.routes]]
root = "www"
brwose = true
`, []string{`5: sites.main.routes[0].brwose: unknown key (did you mean "browse"?)`}},
		{"unknown top-level key", "listener = 1\n[sites.main]\n[[sites.main.routes]]\nroot = \"www\"\n",
			[]string{`1: listener: unknown key (did you mean "listeners"?)`}},
		{"unknown key far from any", "[sites.main]\nzzzzzz = 1\n[[sites.main.routes]]\nroot = \"www\"\n",
			[]string{`2: sites.main.zzzzzz: unknown key`}},
		{"folder does not exist and more", `
[sites.api]
hosts = ["api.example.com"]

[[sites.api.routes]]
match = { path = "/a/" }
root = "www"

[[sites.api.routes]]
match = { path = "/b/" }
root = "www"

[[sites.api.routes]]
match = { path = "/c/" }
root = "nope"
gzip = "yes"

[[sites.api.routes]]
app = "missing"
`, []string{
			"15: sites.api.routes[2].root: folder does not exist",
			"16: sites.api.routes[2].gzip: want true or false, got a string",
			`19: sites.api.routes[3].app: no app "missing"`,
		}},
		{"wrong types", `
[listeners.main]
address = 8000
protocols = "h2"
[limits]
max_body = "lots"
max_headers = "many"
[timeouts]
idle = 30
[sites.s]
[[sites.s.routes]]
root = "www"
`, []string{
			"3: listeners.main.address: want a string, got a number",
			"4: listeners.main.protocols: must include h1: nave has no HTTP/2-only listener",
			`6: limits.max_body: "lots" is not a size (use a number with k, m or g)`,
			"7: limits.max_headers: want a whole number, got a string",
			`9: timeouts.idle: want a duration as a string (as "30s"), got a number`,
		}},
		{"actions", `
[sites.s]
[[sites.s.routes]]
match = { path = "/x" }
root = "www"
app = "a"
[[sites.s.routes]]
match = { path = "y", methods = ["get"] }
browse = true
status = 200
[[sites.s.routes]]
match = { path = "/r" }
redirect = "https://$hots/"
status = 200
[[sites.s.routes]]
match = { path = "/t" }
respond = "hi"
status = 99
set_headers = { Content-Length = "1" }
`, []string{
			"6: sites.s.routes[0].app: root and app exclude each other: a route has one action",
			"7: sites.s.routes[1]: no action: give one of root, app, proxy, redirect or respond",
			`8: sites.s.routes[1].match.methods[0]: "get" is not a method (methods are upper case: GET)`,
			`8: sites.s.routes[1].match.path: "y" must start with /`,
			"9: sites.s.routes[1].browse: only a route with root serves files",
			"10: sites.s.routes[1].status: only a redirect or respond route has a status",
			"13: sites.s.routes[2].redirect: unknown placeholder $hots (known: $request_uri, $uri, $args, $host, $scheme, $method)",
			"14: sites.s.routes[2].status: a redirect's status is 300, 301, 302, 303, 307 or 308, not 200",
			"18: sites.s.routes[3].status: must be from 200 to 599, not 99",
			"19: sites.s.routes[3].set_headers.Content-Length: Content-Length is the protocol's to send",
		}},
		{"shadowed route", `
[sites.s]
[[sites.s.routes]]
root = "www"
[[sites.s.routes]]
match = { path = "/api/" }
respond = "x"
`, []string{"5: sites.s.routes[1]: never reached: routes[0] before it matches every request"}},
		{"hosts", `
[sites.a]
hosts = ["example.com", "bad host"]
[[sites.a.routes]]
root = "www"
[sites.b]
hosts = ["EXAMPLE.com"]
[[sites.b.routes]]
root = "www"
[sites.c]
[[sites.c.routes]]
root = "www"
[sites.d]
hosts = ["*"]
[[sites.d.routes]]
root = "www"
`, []string{
			`3: sites.a.hosts[1]: "bad host" is not a host name, a wildcard as *.example.com, or *`,
			`7: sites.b.hosts[0]: "EXAMPLE.com" is also sites.a's host on listener main`,
			"14: sites.d.hosts[0]: a second default site (no hosts, or *): sites.c is one on listener main",
		}},
		{"listeners and tls", `
[listeners.https]
address = "0.0.0.0:443"
tls = { acme = { challenges = ["http-01"] } }
[listeners.http]
address = "0.0.0.0:443"
redirect_https = "htps"
[sites.s]
listeners = ["http"]
[[sites.s.routes]]
root = "www"
`, []string{
			"3: listeners.https.address: 0.0.0.0:443 is also listeners.http's address",
			`4: listeners.https.tls.acme.challenges[0]: http-01 needs a cleartext listener with redirect_https = "https": the CA asks on port 80`,
			"4: listeners.https.tls.names: acme needs the names to get certificates for",
			`7: listeners.http.redirect_https: no listener "htps" (did you mean "https"?)`,
			`9: sites.s.listeners[0]: listener "http" redirects every request to https and serves no site`,
		}},
		{"unix listeners", `
[listeners.a]
address = "unix:run/app.sock"
trusted_proxies = ["unix", "unix:/x"]
[listeners.b]
address = "unix:/run/nave/` + strings.Repeat("s", 100) + `.sock"
[listeners.c]
address = "unix:/run/nave/http.sock"
trusted_proxies = ["unix", "10.0.0.0/8"]
[sites.s]
[[sites.s.routes]]
root = "www"
`, []string{
			`3: listeners.a.address: "unix:run/app.sock": a Unix socket's path must be absolute (as unix:/run/nave/http.sock)`,
			`4: listeners.a.trusted_proxies[1]: "unix:/x" is not an address, a CIDR prefix (as 10.0.0.0/8) or unix`,
			`6: listeners.b.address: "unix:/run/nave/` + strings.Repeat("s", 100) + `.sock": the path is 115 bytes long; a Unix socket's is at most 107`,
		}},
		{"metrics", `
[admin]
metrics = "9100"
status = "localhost"
[sites.s]
[[sites.s.routes]]
root = "www"
`, []string{
			`3: admin.metrics: "9100" is not HOST:PORT (as 127.0.0.1:8000 or 0.0.0.0:443)`,
			`4: admin.status: "localhost" is not HOST:PORT (as 127.0.0.1:8000 or 0.0.0.0:443)`,
		}},
		{"apps", `
[apps.a]
interface = "cgi"
chdir = "nope"
workers = -1
timeout = "-2s"
[apps.b]
module = "app:app"
python = "/no/python"
virtualenv = "app"
[sites.s]
[[sites.s.routes]]
app = "a"
`, []string{
			"2: apps.a.module: is missing: name the app as MODULE:CALLABLE (app:app, mysite.wsgi)",
			"3: apps.a.interface: \"cgi\" is not wsgi or asgi",
			"4: apps.a.chdir: folder does not exist",
			"5: apps.a.workers: must be 0 or more, not -1",
			"6: apps.a.timeout: must be positive, or off",
			"9: apps.b.python: python and virtualenv exclude each other: the virtualenv's python is used",
			"9: apps.b.python: /no/python is not an executable",
			"10: apps.b.virtualenv: DIR/app has no bin/python",
		}},
		{"drain delay", "[timeouts]\ndrain_delay = \"-5s\"\n[sites.s]\n[[sites.s.routes]]\nrespond = \"x\"\n", []string{
			"2: timeouts.drain_delay: must not be negative",
		}},
		{"asgi apps", `
[apps.a]
module = "app:app"
interface = "asgi"
lifespan = "maybe"
loop = "trio"
native = "sometimes"
limit_concurrency = -1
ws_ping_interval = "-3s"
[apps.w]
module = "app:app"
lifespan = "on"
ws_max_message = "1m"
native = "on"
[sites.s]
[[sites.s.routes]]
match.path = "/w"
app = "w"
[[sites.s.routes]]
app = "a"
`, []string{
			`5: apps.a.lifespan: "maybe" is not auto, on or off`,
			`6: apps.a.loop: "trio" is not auto, asyncio or uvloop`,
			`7: apps.a.native: "sometimes" is not auto, on or off`,
			"8: apps.a.limit_concurrency: must be 0 or more, not -1",
			"9: apps.a.ws_ping_interval: must be positive, or off",
			`12: apps.w.lifespan: is for interface "asgi" apps only`,
			`13: apps.w.ws_max_message: is for interface "asgi" apps only`,
			`14: apps.w.native: is for interface "asgi" apps only`,
		}},
		{"dotted keys", "apps.a.workers = 2\n[sites.s]\n[[sites.s.routes]]\nroot = \"www\"\nmatch.pth = \"/x\"\n", []string{
			"1: apps.a.module: is missing: name the app as MODULE:CALLABLE (app:app, mysite.wsgi)",
			`5: sites.s.routes[0].match.pth: unknown key (did you mean "path"?)`,
		}},
		{"a table for a list", "[sites.s.routes]\nroot = \"www\"\n", []string{
			"1: sites.s.routes: want a list, got a table (write [[sites.s.routes]] before each element)",
			"1: sites.s.routes: no routes: the site would answer nothing",
		}},
		{"admin", "[admin]\nlisten = \"0.0.0.0:2019\"\nsocket = \"/" + strings.Repeat("s", 120) + "\"\n[sites.s]\n[[sites.s.routes]]\nroot = \"www\"\n", []string{
			`2: admin.listen: "0.0.0.0:2019" is not a loopback address (as 127.0.0.1:2019): the admin API reconfigures nave and has no password`,
			`3: admin.socket: is 121 bytes long; a Unix socket's path is at most 107`,
		}},
		{"no sites", "[log]\nformat = \"xml\"\n", []string{
			`2: log.format: "xml" is not combined, json or a format string with $variables`,
			"0: sites: no sites: nothing to serve (add a [sites.NAME] with routes)",
		}},
		{"log", "[log]\nformat = \"$status $reqest_time\"\nrequest_id = \"X Id\"\ntrace_path = \"api\"\n[sites.s]\n[[sites.s.routes]]\nroot = \"www\"\n", []string{
			"2: log.format: unknown variable $reqest_time in the format (known: ",
			`3: log.request_id: "X Id" is not a header field name or "off"`,
			`4: log.trace_path: "api" does not start with "/"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := fixture(t)
			_, err := Parse([]byte(tt.toml), TOML, dir)
			var list List
			if !errors.As(err, &list) {
				t.Fatalf("got %v, want a List", err)
			}
			var got []string
			for _, e := range list {
				s := strings.ReplaceAll(e.Error(), dir, "DIR")
				if e.Path == "" {
					s = e.Msg
				}
				got = append(got, itoa(e.Line)+": "+s)
			}
			if tt.name == "syntax" {
				if len(got) != 1 || !strings.HasPrefix(got[0], tt.want[0]) {
					t.Fatalf("got %q", got)
				}
				return
			}
			if tt.name == "log" && len(got) == len(tt.want) {
				// The unknown variable's message goes on to list them all.
				for i := range got {
					if strings.HasPrefix(got[i], tt.want[i]) {
						got[i] = tt.want[i]
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func mustJSON(t *testing.T, c *Config) string {
	t.Helper()
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJSONErrors(t *testing.T) {
	dir := fixture(t)
	for _, tt := range []struct{ name, js, want string }{
		{"syntax", "{\n\"sites\": {,}\n}", "line 2: invalid character ',' looking for beginning of object key string"},
		{"unknown key, no line", `{"sites": {"s": {"routes": [{"root": "www", "idnex": ["a.html"]}]}}}`,
			`sites.s.routes[0].idnex: unknown key (did you mean "index"?)`},
		{"not an object", `[1]`, "want an object ({...}) at the top"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.js), JSON, dir)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := fixture(t)
	file := filepath.Join(dir, "nave.toml")
	os.WriteFile(file, []byte(minimal), 0o644)
	c, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Dir != dir || c.Sites["main"].Routes[0].Root != filepath.Join(dir, "www") {
		t.Errorf("relative paths: got dir %q, root %q", c.Dir, c.Sites["main"].Routes[0].Root)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
	var list List
	os.WriteFile(file, []byte("[sites.main]\nroutes = 3\n"), 0o644)
	if _, err := Load(file); !errors.As(err, &list) || list.Format("nave.toml") != "nave.toml:2: sites.main.routes: want a list, got a number\nnave.toml:2: sites.main.routes: no routes: the site would answer nothing\n" {
		t.Errorf("got %v", err)
	}
}

func TestSuggest(t *testing.T) {
	known := map[string][]int{"browse": nil, "index": nil, "root": nil, "gzip": nil, "status": nil}
	for k, want := range map[string]string{
		"brwose": "browse", "Index": "index", "rot": "root", "gzp": "gzip", "statsu": "status", "xyz": "", "listeners": "",
	} {
		got := suggest(k, known)
		if want == "" && got != "" || want != "" && got != ` (did you mean "`+want+`"?)` {
			t.Errorf("suggest(%q): got %q, want %q", k, got, want)
		}
	}
}

func TestSizeAndDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Size
		err  bool
	}{{"64k", 64 << 10, false}, {"off", Off, false}, {"1.5m", 0, true}, {"0", 0, true}} {
		var s Size
		err := s.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.err || !tt.err && s != tt.want {
			t.Errorf("Size %q: got %d, %v", tt.in, s, err)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("soon")); err == nil || err.Error() != `"soon" is not a duration (as 500ms, 30s, 2m)` {
		t.Errorf("Duration: got %v", err)
	}
	if b, _ := Duration(90 * time.Second).MarshalText(); string(b) != "1m30s" {
		t.Errorf("Duration marshal: got %s", b)
	}
}

// TestJSONRoundTrip: a completed config written as JSON (as the admin API
// will show it) reads back as the same config.
func TestJSONRoundTrip(t *testing.T) {
	dir := fixture(t)
	c, err := Parse([]byte(full), TOML, dir)
	if err != nil {
		t.Fatal(err)
	}
	out := mustJSON(t, c)
	back, err := Parse([]byte(out), JSON, dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if again := mustJSON(t, back); again != out {
		t.Errorf("round trip differs:\n%s\n%s", out, again)
	}
}

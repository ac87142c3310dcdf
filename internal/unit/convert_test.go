package unit

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"nave/internal/config"
)

// published loads a Unit config from testdata with @DIR@ standing for
// dir, and makes the folders and virtualenvs it names exist there.
func published(t *testing.T, file, dir string, folders ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		if err := os.MkdirAll(filepath.Join(dir, f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return []byte(strings.ReplaceAll(string(data), "@DIR@", dir))
}

// venv makes dir a virtualenv as far as nave checks one: bin/python.
func venv(t *testing.T, dir string) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	if err := os.Symlink("/usr/bin/python3", filepath.Join(dir, "bin", "python")); err != nil {
		t.Fatal(err)
	}
}

// convertValid converts data, writes it as TOML and parses that back
// with full validation, as nave validate does.
func convertValid(t *testing.T, data []byte, dir string) (*config.Config, []string) {
	t.Helper()
	c, lost, err := Convert(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.TOML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := config.Parse(out, config.TOML, dir)
	if err != nil {
		t.Fatalf("the converted config does not validate:\n%v\n%s", err, out)
	}
	var lines []string
	for _, l := range lost {
		lines = append(lines, l.String())
	}
	return back, lines
}

func wantLost(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("lost:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNetBox: NetBox's published Unit config (netbox-docker): a static
// folder and a Django app on [::] and 0.0.0.0, and Unit's own status
// behind a second port.
func TestNetBox(t *testing.T) {
	dir := t.TempDir()
	data := published(t, "netbox.json", dir, "opt/netbox/netbox/static")
	venv(t, filepath.Join(dir, "opt/netbox/venv"))
	c, lost := convertValid(t, data, dir)
	wantLost(t, lost, []string{
		"applications.netbox.processes: nave keeps max (4) workers running, not spare ones grown and shrunk",
		`routes.status[0].action.proxy: nave proxies to HOST:PORT over TCP, not to "http://unix:/opt/unit/unit.sock"; the route is left out`,
		`listeners["[::]:8081"].pass: nothing it passes to was converted; nave answers 404 there`,
	})
	if l := c.Listeners["http_8080"]; l == nil || l.Address != "[::]:8080" || len(c.Listeners) != 2 {
		t.Errorf("listeners %v: want [::]:8080 and [::]:8081, the 0.0.0.0 twins folded in", c.Listeners)
	}
	main := c.Sites["main"]
	if main == nil || len(main.Routes) != 2 {
		t.Fatalf("sites.main: %+v", main)
	}
	if r := main.Routes[0]; r.Match.Glob != "/static/*" || r.Root != filepath.Join(dir, "opt/netbox/netbox") {
		t.Errorf("static route: %+v", r)
	}
	if r := main.Routes[1]; r.App != "netbox" || r.Match.Glob != "" {
		t.Errorf("app route: %+v", r)
	}
	a := c.Apps["netbox"]
	if a.Module != "netbox.wsgi:application" || a.Workers != 4 || a.Virtualenv != filepath.Join(dir, "opt/netbox/venv") ||
		a.Chdir != filepath.Join(dir, "opt/netbox/netbox")+"/" {
		t.Errorf("apps.netbox: %+v", a)
	}
	if c.Log.Access != "-" {
		t.Errorf("log.access %q, want - (Unit's /dev/stdout)", c.Log.Access)
	}
}

// TestPostHog: PostHog's published Unit config (docker/unit.json.tpl,
// with its variables filled as for ASGI).
func TestPostHog(t *testing.T) {
	dir := t.TempDir()
	data := published(t, "posthog.json", dir, "code/bin")
	c, lost := convertValid(t, data, dir)
	wantLost(t, lost, []string{
		"applications.metrics.user: nave runs workers as its own user: start nave as nobody",
		"applications.posthog.user: nave runs workers as its own user: start nave as nobody",
		`routes.status[0].action.proxy: nave proxies to HOST:PORT over TCP, not to "http://unix:/var/run/control.unit.sock"; the route is left out`,
		`listeners["*:8181"].pass: nothing it passes to was converted; nave answers 404 there`,
	})
	a := c.Apps["posthog"]
	if a.Interface != "asgi" || a.Module != "posthog.asgi:application" || a.Workers != 4 || a.MaxRequests != 7500 || a.Chdir != filepath.Join(dir, "code") {
		t.Errorf("apps.posthog: %+v", a)
	}
	if c.Limits.MaxBody != 22020096 {
		t.Errorf("limits.max_body %d, want Unit's max_body_size", c.Limits.MaxBody)
	}
	if s := c.Sites["posthog"]; s == nil || s.Routes[0].App != "posthog" || s.Listeners[0] != "http_8000" {
		t.Errorf("sites.posthog: %+v", s)
	}
	if r := c.Sites["metrics"].Routes[0]; r.Match.Glob != "/metrics" || r.App != "metrics" {
		t.Errorf("metrics route: %+v", r)
	}
	if c.Log.Access != "off" {
		t.Errorf("log.access %q, want off: Unit logs no requests without access_log", c.Log.Access)
	}
}

// TestFeatures: every kind of match and action Unit's own tests
// configure, with what nave cannot do named by path.
func TestFeatures(t *testing.T) {
	dir := t.TempDir()
	data := published(t, "features.json", dir, "www", "site", "lib", "api")
	os.WriteFile(filepath.Join(dir, "example.pem"), nil, 0o644)
	c, lost := convertValid(t, data, dir)
	wantLost(t, lost, []string{
		`applications.php.type: nave runs Python apps only, not "php"; routes to it are left out`,
		"applications.site.threads: nave's workers take one request at a time: raise workers instead",
		`listeners["127.0.0.1:8443"].tls.certificate: Unit keeps example in its certificate store: put each bundle's PEM (chain and key, as uploaded to Unit) in example.pem beside the nave config`,
		`listeners["127.0.0.1:9000"].forwarded.recursive: nave always reads X-Forwarded-For past every trusted proxy, as recursive: true`,
		"routes[1].action.types: nave serves every file type under the root: the types limit is dropped",
		"routes[4].match.scheme: this route list is served on http and https listeners both, and nave has no scheme match; the step is left out",
		"routes[5].match.cookies: nave has no cookies match; the step is left out",
		`routes[6].match.uri: nave has no negated pattern ("!/admin/*"); the step is left out`,
		`routes[8].action.pass: there is no route list "old"`,
		"settings.http.static: nave has nothing like it",
		"access_log.format: nave writes the combined or json format (log.format), not $remote_addr $request_line",
	})
	routes := c.Sites["main"].Routes
	var got []string
	for _, r := range routes {
		m := r.Match
		got = append(got, strings.Join([]string{m.Glob, strings.Join(m.Hosts, ","), strings.Join(m.Methods, ","),
			flat(m.Headers), flat(m.Query), r.Root, r.App, r.Proxy, r.Redirect}, "|"))
	}
	want := []string{
		"|old.example.com|||||||https://example.com$request_uri",
		"/static/*||GET,HEAD|||" + filepath.Join(dir, "www") + "|||",
		"/media/*||GET,HEAD|||" + filepath.Join(dir, "www") + "|||",
		"/api/*|||Accept=*json*|||api_v2||",
		"/api/*|||X-Api=1|||api_v2||",
		"/search||||q=*||api_v1||",
		"/legacy/*|||||||proxy_127_0_0_1_8081|",
		"||||||site||",
	}
	if !slices.Equal(got, want) {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	static := routes[1]
	if !slices.Equal(static.Index, []string{"index.htm"}) || !static.FollowSymlinks ||
		static.SetHeaders["Cache-Control"] != "max-age=3600" || !slices.Equal(static.RemoveHeaders, []string{"X-Powered-By"}) {
		t.Errorf("share options: %+v", static)
	}
	site := c.Apps["site"]
	if site.Module != "site.wsgi:app" || site.Environment["PYTHONPATH"] != filepath.Join(dir, "lib") || site.Timeout.D().Seconds() != 20 {
		t.Errorf("apps.site: %+v", site)
	}
	if u := c.Upstreams["backend"]; len(u.Servers) != 2 || u.Weights["127.0.0.1:9002"] != 2 {
		t.Errorf("upstreams.backend: %+v", u)
	}
	if l := c.Listeners["http_9000"]; !slices.Equal(l.TrustedProxies, []string{"10.0.0.0/8"}) {
		t.Errorf("forwarded source: %v", l.TrustedProxies)
	}
	// A Unix socket listener, whose forwarded source is Unit's "unix" (any
	// peer on the socket): nave's trusted_proxies entry of the same name.
	if l := c.Listeners["http_unix"]; l == nil || l.Address != "unix:/run/unit/app.sock" || !slices.Equal(l.TrustedProxies, []string{"unix"}) {
		t.Errorf("listeners.http_unix: %+v", l)
	} else if s := c.Sites["main"]; !slices.Contains(s.Listeners, "http_unix") {
		t.Errorf("sites.main is not served on http_unix: %v", s.Listeners)
	}
}

func flat(m map[string]string) string {
	var kv []string
	for _, k := range sortedKeys(m) {
		kv = append(kv, k+"="+m[k])
	}
	return strings.Join(kv, ",")
}

// TestSteps: one step each, as small Unit configs; the routes nave makes
// of them, and what is lost.
func TestSteps(t *testing.T) {
	tests := []struct {
		name, routes string
		want         string // each route as glob|app|status, ";"-joined
		lost         string
	}{
		{"scheme_http_only", `[{"match": {"scheme": "http"}, "action": {"return": 204}}]`, "||204", ""},
		{"scheme_never", `[{"match": {"scheme": "https"}, "action": {"return": 204}}, {"action": {"return": 200}}]`, "||200", ""},
		{"regex", `[{"match": {"uri": "~^/a"}, "action": {"return": 204}}]`, "||404",
			`routes[0].match.uri: nave has no regular expression ("~^/a"); the step is left out` + "\n" +
				`listeners["127.0.0.1:0"].pass: nothing it passes to was converted; nave answers 404 there`},
		{"rewrite", `[{"match": {"uri": "/a"}, "action": {"return": 204}, "rewrite": "/b"}, {"action": {"return": 200}}]`, "||200",
			"routes[0].rewrite: nave cannot rewrite the URI; the step is left out"},
		{"suffix", `[{"match": {"uri": "*.php"}, "action": {"return": 403}}]`, "*.php||403", ""},
		{"any_uri", `[{"match": {"uri": "*"}, "action": {"return": 204}}]`, "||204", ""},
		{"redirect_bad_status", `[{"action": {"return": 200, "location": "/x"}}]`, "||200",
			"routes[0].action.location: nave sends Location with a redirect status only (301, 302, 303, 307, 308), not 200: the status is kept, the location dropped"},
		{"nested", `{"main": [{"match": {"uri": "/a/*"}, "action": {"pass": "routes/a"}}], "a": [{"match": {"method": "POST"}, "action": {"return": 405}}, {"match": {"uri": "/b"}, "action": {"return": 200}}]}`,
			"/a/*||405",
			"routes.a[1].match: the step's match and the match of the step that passed to this list test one field both ways, or make over 64 routes; the step is left out"},
		{"loop", `{"main": [{"action": {"pass": "routes/main"}}]}`, "||404",
			"routes.main[0].action.pass: route lists pass to each other more than 8 deep (a loop?)\n" +
				`listeners["127.0.0.1:0"].pass: nothing it passes to was converted; nave answers 404 there`},
		{"bad_host", `[{"match": {"host": "example.*"}, "action": {"return": 204}}]`, "||404",
			`routes[0].match.host: nave matches host names and *.name wildcards, not "example.*"; the step is left out` + "\n" +
				`listeners["127.0.0.1:0"].pass: nothing it passes to was converted; nave answers 404 there`},
		{"source", `[{"match": {"source": "10.0.0.0/8"}, "action": {"return": 204}}, {"action": {"return": 200}}]`, "||200",
			"routes[0].match.source: nave has no source match; the step is left out"},
		{"share_file", `[{"action": {"share": "/var/www/index.html"}}, {"action": {"return": 200}}]`, "||200",
			`routes[0].action.share: nave serves a folder (a share of FOLDER$uri), not "/var/www/index.html"; the step is left out`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pass := "routes"
			if strings.HasPrefix(tt.routes, "{") {
				pass = "routes/main"
			}
			doc := `{"listeners": {"127.0.0.1:0": {"pass": "` + pass + `"}}, "routes": ` + tt.routes + `, "access_log": "/dev/stdout"}`
			c, lost, err := Convert([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range c.Sites {
				for _, r := range s.Routes {
					got = append(got, strings.Join([]string{r.Match.Glob, r.App, itoa(r.Status)}, "|"))
				}
			}
			if strings.Join(got, ";") != tt.want {
				t.Errorf("routes %q, want %q", strings.Join(got, ";"), tt.want)
			}
			var ls []string
			for _, l := range lost {
				ls = append(ls, l.String())
			}
			if strings.Join(ls, "\n") != tt.lost {
				t.Errorf("lost:\n%s\nwant:\n%s", strings.Join(ls, "\n"), tt.lost)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// TestNotUnit: documents that are not a Unit configuration are errors,
// not empty configs.
func TestNotUnit(t *testing.T) {
	for _, doc := range []string{`[]`, `{"applications": {}}`, `{"listeners": {}} {}`, `{`} {
		if _, _, err := Convert([]byte(doc)); err == nil {
			t.Errorf("%s: no error", doc)
		}
	}
	if _, _, err := Convert([]byte(`{"applications": {}}`)); !errors.Is(err, ErrNoListeners) {
		t.Errorf("no listeners: %v", err)
	}
	// The whole of GET / of the control API: its config member is read.
	c, _, err := Convert([]byte(`{"certificates": {}, "config": {"listeners": {"*:80": {"pass": "routes"}}, "routes": [{"action": {"return": 204}}]}, "status": {}}`))
	if err != nil || c.Sites["main"] == nil {
		t.Errorf("GET / document: %v %+v", err, c)
	}
}

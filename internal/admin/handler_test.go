package admin

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"nave/internal/config"
	"nave/internal/web"
	"nave/internal/web/webtest"
)

const base = `
[listeners.main]
address = "127.0.0.1:0"

[sites.api]
hosts = ["api.test"]

[[sites.api.routes]]
match = { path = "/static/" }
root = "www"

[[sites.api.routes]]
respond = "hello\n"
`

// fake is a running nave for the API: it applies what validates, unless
// refuse names a problem to apply with.
type fake struct {
	mu     sync.Mutex
	cur    *config.Config
	refuse error
	file   string
}

func newFake(t *testing.T) (*fake, *Handler) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "www"), 0o755)
	file := filepath.Join(dir, "nave.toml")
	os.WriteFile(file, []byte(base), 0o644)
	c, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{cur: c, file: file}
	return f, New(Config{
		Current: func() *config.Config { f.mu.Lock(); defer f.mu.Unlock(); return f.cur },
		Update: func(change func(*config.Config) (*config.Config, error)) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			c, err := change(f.cur)
			if err != nil {
				return err
			}
			if f.refuse != nil {
				return f.refuse
			}
			f.cur = c
			return nil
		},
		Load: func(file string) (*config.Config, error) {
			if file == "" {
				file = f.file
			}
			return config.Load(file)
		},
		Status: func() any { return map[string]int{"requests": 7} },
	})
}

type resp struct {
	status int
	etag   string
	body   string
}

func do(t *testing.T, h web.Handler, method, path, body string, header ...string) resp {
	t.Helper()
	var rec webtest.Recorder
	r := &web.Request{Method: []byte(method), Path: []byte(path), Body: strings.NewReader(body)}
	for i := 0; i < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	h.Serve(rec.Begin(r), r)
	if err := rec.End(); err != nil {
		t.Fatal(err)
	}
	return resp{rec.Status, string(rec.Header.Get("ETag")), rec.Body.String()}
}

func TestGet(t *testing.T) {
	f, h := newFake(t)
	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"/config/sites/api/hosts", 200, `["api.test"]`},
		{"/config/sites/api/routes/1/respond", 200, `"hello\n"`},
		{"/config/listeners/main/address", 200, `"127.0.0.1:0"`},
		{"/config/limits/max_body", 200, `"100m"`},
		{"/config/sites/api/routes/2", 404, ""},
		{"/config/sites/api/routes/01", 404, ""},
		{"/config/sites/nope", 404, ""},
		{"/nope", 404, ""},
	} {
		r := do(t, h, "GET", tt.path, "")
		if r.status != tt.status {
			t.Errorf("%s: got %d %s, want %d", tt.path, r.status, r.body, tt.status)
			continue
		}
		if tt.status != 200 {
			continue
		}
		var got any
		json.Unmarshal([]byte(r.body), &got)
		compact, _ := json.Marshal(got)
		if string(compact) != tt.want {
			t.Errorf("%s: got %s, want %s", tt.path, compact, tt.want)
		}
		if r.etag != ETag(f.cur) || !strings.HasPrefix(r.etag, `"`) {
			t.Errorf("%s: ETag %q, want %q", tt.path, r.etag, ETag(f.cur))
		}
	}
}

// TestEdit: PUT, PATCH, DELETE and POST /load change the config, each
// validated and answered with the new ETag.
func TestEdit(t *testing.T) {
	f, h := newFake(t)
	steps := []struct {
		method, path, body string
		check              func(*config.Config) bool
	}{
		{"PUT", "/config/sites/api/routes/1/respond", `"bye\n"`, func(c *config.Config) bool { return *c.Sites["api"].Routes[1].Respond == "bye\n" }},
		{"PUT", "/config/sites/api/routes/1/match", `{"path": "/r"}`, func(c *config.Config) bool { return c.Sites["api"].Routes[1].Match.Path == "/r" }},
		{"PUT", "/config/sites/api/routes/2", `{"match": {"path": "/x"}, "redirect": "/y"}`, func(c *config.Config) bool {
			return len(c.Sites["api"].Routes) == 3 && c.Sites["api"].Routes[2].Status == 308
		}},
		{"PATCH", "/config/sites/api", `{"hosts": ["a.test", "b.test"], "set_headers": {"X-A": "1"}}`, func(c *config.Config) bool {
			s := c.Sites["api"]
			return len(s.Hosts) == 2 && s.SetHeaders["X-A"] == "1" && len(s.Routes) == 3
		}},
		{"PATCH", "/config/sites/api", `{"set_headers": null}`, func(c *config.Config) bool { return c.Sites["api"].SetHeaders == nil }},
		{"DELETE", "/config/sites/api/routes/0", "", func(c *config.Config) bool { return len(c.Sites["api"].Routes) == 2 }},
		{"PUT", "/config/apps/x", `{"module": "m:app", "python": "/bin/sh"}`, func(c *config.Config) bool { return c.Apps["x"].Module == "m:app" }},
		{"PATCH", "/config", `{"apps": null, "limits": {"max_body": "1m"}}`, func(c *config.Config) bool {
			return c.Apps == nil && c.Limits.MaxBody == 1<<20
		}},
		{"POST", "/load", "[sites.s]\n[[sites.s.routes]]\nrespond = \"toml\"\n", func(c *config.Config) bool { return len(c.Sites) == 1 && c.Sites["s"] != nil }},
		{"POST", "/load", `{"sites": {"j": {"routes": [{"respond": "json"}]}}}`, func(c *config.Config) bool { return c.Sites["j"] != nil }},
		{"POST", "/reload", "", func(c *config.Config) bool { return c.Sites["api"] != nil }},
	}
	for _, s := range steps {
		before := ETag(f.cur)
		r := do(t, h, s.method, s.path, s.body, "If-Match", before)
		if r.status != 200 || !s.check(f.cur) {
			t.Fatalf("%s %s: got %d %s", s.method, s.path, r.status, r.body)
		}
		if r.etag != ETag(f.cur) || r.etag == before {
			t.Errorf("%s %s: ETag %q, before %q, now %q", s.method, s.path, r.etag, before, ETag(f.cur))
		}
	}
}

// TestIfMatch: a change made with a stale ETag is refused with 412 and
// changes nothing; "*" and the current one are taken.
func TestIfMatch(t *testing.T) {
	f, h := newFake(t)
	stale := ETag(f.cur)
	if r := do(t, h, "PUT", "/config/sites/api/routes/1/respond", `"one"`, "If-Match", stale); r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	cur := ETag(f.cur)
	r := do(t, h, "PUT", "/config/sites/api/routes/1/respond", `"two"`, "If-Match", stale)
	if r.status != 412 || *f.cur.Sites["api"].Routes[1].Respond != "one" || ETag(f.cur) != cur {
		t.Errorf("stale If-Match: got %d %s, respond %q", r.status, r.body, *f.cur.Sites["api"].Routes[1].Respond)
	}
	if r := do(t, h, "PATCH", "/config/sites/api", `{}`, "If-Match", `W/`+cur); r.status != 412 {
		t.Errorf("a weak tag: got %d, want 412", r.status)
	}
	if r := do(t, h, "PUT", "/config/sites/api/routes/1/respond", `"three"`, "If-Match", `"x", *`); r.status != 200 {
		t.Errorf("If-Match *: got %d %s", r.status, r.body)
	}
}

// TestProblems: a change that does not validate is 400 with every problem
// and its field path, and nothing changes; one that cannot be applied is
// 422.
func TestProblems(t *testing.T) {
	f, h := newFake(t)
	before := ETag(f.cur)
	r := do(t, h, "PATCH", "/config/sites/api", `{"routes": [{"match": {"path": "/s/"}, "root": "/no/such/dir", "browze": true}, {"app": "nope"}], "hosts": ["bad host"]}`)
	var got reply
	json.Unmarshal([]byte(r.body), &got)
	var paths []string
	for _, p := range got.Problems {
		paths = append(paths, p.Path)
	}
	want := []string{"sites.api.hosts[0]", "sites.api.routes[0].browze", "sites.api.routes[0].root", "sites.api.routes[1].app"}
	if r.status != 400 || strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("got %d, problems at %q, want 400 and %q\n%s", r.status, paths, want, r.body)
	}
	if ETag(f.cur) != before {
		t.Error("an invalid change was applied")
	}
	for _, bad := range []struct{ method, path, body string }{
		{"PUT", "/config/sites/api", `{"routes": [`},
		{"POST", "/load", "[sites\n"},
		{"DELETE", "/config", ""},
	} {
		if r := do(t, h, bad.method, bad.path, bad.body); r.status != 400 {
			t.Errorf("%s %s %s: got %d %s, want 400", bad.method, bad.path, bad.body, r.status, r.body)
		}
	}
	if r := do(t, h, "PUT", "/config/sites/api/hosts/0/x", `"y"`); r.status != 404 {
		t.Errorf("a path through a string: got %d, want 404", r.status)
	}
	f.refuse = config.List{{Path: "listeners.main.address", Msg: "cannot listen: address already in use"}}
	r = do(t, h, "PUT", "/config/listeners/main/address", `"127.0.0.1:1"`)
	if r.status != 422 || !strings.Contains(r.body, `"path": "listeners.main.address"`) {
		t.Errorf("an apply failure: got %d %s", r.status, r.body)
	}
	f.refuse = errors.New("nave is shutting down")
	if r := do(t, h, "DELETE", "/config/sites/api/routes/0", ""); r.status != 422 {
		t.Errorf("got %d", r.status)
	}
	if r := do(t, h, "POST", "/config/sites", "{}"); r.status != 405 {
		t.Errorf("POST /config: got %d, want 405", r.status)
	}
}

func TestStatus(t *testing.T) {
	_, h := newFake(t)
	if r := do(t, h, "GET", "/status", ""); r.status != 200 || !strings.Contains(r.body, `"requests": 7`) || r.etag == "" {
		t.Errorf("got %d %q %s", r.status, r.etag, r.body)
	}
}

func TestMergePatch(t *testing.T) {
	// RFC 7396 Appendix A, a selection.
	for _, tt := range []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
	} {
		target, _ := decodeJSON([]byte(tt.target))
		patch, _ := decodeJSON([]byte(tt.patch))
		got, _ := json.Marshal(mergePatch(target, patch))
		if string(got) != tt.want {
			t.Errorf("merge %s with %s: got %s, want %s", tt.target, tt.patch, got, tt.want)
		}
	}
}

// TestMetrics: GET /metrics is Config.Metrics's, when set; other methods
// get 405, and without it the path is unknown.
func TestMetrics(t *testing.T) {
	_, h := newFake(t)
	if r := do(t, h, "GET", "/metrics", ""); r.status != 404 {
		t.Errorf("without Metrics: %d, want 404", r.status)
	}
	h.cfg.Metrics = web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) { w.WriteString("nave_up 1\n") })
	if r := do(t, h, "GET", "/metrics", ""); r.status != 200 || r.body != "nave_up 1\n" {
		t.Errorf("GET /metrics: %d %q", r.status, r.body)
	}
	if r := do(t, h, "POST", "/metrics", ""); r.status != 405 {
		t.Errorf("POST /metrics: %d, want 405", r.status)
	}
}

// TestPage: GET / is the page Config.Page serves, when there is one;
// other methods are 405; without a page, / is a 404 like any other path.
func TestPage(t *testing.T) {
	_, h := newFake(t)
	if r := do(t, h, "GET", "/", ""); r.status != 404 {
		t.Errorf("GET / without a page: %d, want 404", r.status)
	}
	h.cfg.Page = func(w *web.ResponseWriter, r *web.Request) { w.WriteString("the page") }
	if r := do(t, h, "GET", "/", ""); r.status != 200 || r.body != "the page" {
		t.Errorf("GET /: %d %q, want the page", r.status, r.body)
	}
	if r := do(t, h, "POST", "/", ""); r.status != 405 {
		t.Errorf("POST /: %d, want 405", r.status)
	}
}

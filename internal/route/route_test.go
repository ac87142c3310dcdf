package route

import (
	"testing"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		path, prefix string
		n            int
		ok           bool
	}{
		{"/static/a.css", "/static", 7, true},
		{"/static", "/static", 7, true},
		{"/static/", "/static", 7, true},
		{"/staticfiles/a", "/static", 0, false},
		{"/stat", "/static", 0, false},
		{"/st%61tic/a.css", "/static", 9, true},
		{"/st%61tic%2Fa.css", "/static", 0, false}, // an escaped slash ends no segment
		{"/%zzstatic", "/static", 0, false},
		{"/anything", "", 0, true},
		{"*", "", 0, true},
		{"/a%", "/a", 0, false},
	} {
		n, ok := match([]byte(tc.path), tc.prefix)
		if n != tc.n || ok != tc.ok {
			t.Errorf("match(%q, %q): got %d, %v; want %d, %v", tc.path, tc.prefix, n, ok, tc.n, tc.ok)
		}
	}
}

// tag is a handler that answers with its name, the prefix and the path info.
type tag string

func (g tag) Serve(w *web.ResponseWriter, r *web.Request) {
	w.WriteString(string(g) + " " + string(r.Prefix()) + " " + string(r.PathInfo()))
}

func TestServe(t *testing.T) {
	tb, err := New([]Mount{{"/", tag("root")}, {"/static/", tag("static")}, {"/static/img", tag("img")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{"/", "root  /"},
		{"/index.html", "root  /index.html"},
		{"/static", "static /static /"},
		{"/static/a.css", "static /static /a.css"},
		{"/static/img/x.png", "img /static/img /x.png"},
		{"/static/imgx", "static /static /imgx"},
		{"/St%61tic/a", "root  /St%61tic/a"},
		{"/st%61tic/a", "static /st%61tic /a"},
	} {
		var rec webtest.Recorder
		r := &web.Request{Method: []byte("GET"), Path: []byte(tc.path)}
		tb.Serve(rec.Begin(r), r)
		if err := rec.End(); err != nil {
			t.Fatal(err)
		}
		if got := rec.Body.String(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestNoRoot(t *testing.T) {
	tb, err := New([]Mount{{"/app", tag("app")}})
	if err != nil {
		t.Fatal(err)
	}
	var rec webtest.Recorder
	r := &web.Request{Method: []byte("GET"), Path: []byte("/other")}
	tb.Serve(rec.Begin(r), r)
	rec.End()
	if rec.Status != 404 {
		t.Errorf("outside every mount: got %d, want 404", rec.Status)
	}
}

func TestNewErrors(t *testing.T) {
	for _, ms := range [][]Mount{
		{{"static", tag("a")}},
		{{"/a", tag("a")}, {"/a/", tag("b")}},
	} {
		if _, err := New(ms); err == nil {
			t.Errorf("New(%v): no error", ms)
		}
	}
}

// FuzzMatch checks match against a plain reference: decode the path's
// percent-escapes, then compare whole segments.
func FuzzMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"/static/a.css", "/static"}, {"/st%61tic/a", "/static"}, {"/staticx", "/static"},
		{"/a%2fb", "/a"}, {"/%", "/"}, {"*", ""}, {"/a%zz/b", "/a%zz"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, path, prefix string) {
		if prefix != "" && (prefix[0] != '/' || prefix[len(prefix)-1] == '/') {
			return // New never compiles such a prefix
		}
		n, ok := match([]byte(path), prefix)
		// The reference: some raw prefix of path decodes to prefix and is
		// followed by a literal "/" or the end.
		want := prefix == ""
		for i := 0; i <= len(path) && !want; i++ {
			if string(decodeAll([]byte(path[:i]))) == prefix && (i == len(path) || path[i] == '/') && !splitsEscape(path, i) {
				want = true
			}
		}
		if ok != want {
			t.Fatalf("match(%q, %q) = %v, reference %v", path, prefix, ok, want)
		}
		if ok && prefix != "" && (string(decodeAll([]byte(path[:n]))) != prefix || n < len(path) && path[n] != '/') {
			t.Fatalf("match(%q, %q): raw prefix %q", path, prefix, path[:n])
		}
	})
}

// splitsEscape reports whether i falls inside a valid percent-escape of path.
func splitsEscape(path string, i int) bool {
	for j := 0; j < i; {
		_, n := decodeAt([]byte(path), j)
		if j+n > i {
			return true
		}
		j += n
	}
	return false
}

// decodeAll decodes every valid percent-escape, as match reads the path.
func decodeAll(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		c, n := decodeAt(b, i)
		out = append(out, c)
		i += n
	}
	return out
}

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
		{"/st%61tic%2Fa.css", "/static", 9, true},
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

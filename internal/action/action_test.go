package action

import (
	"testing"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

func request(method, authority, path, query string) *web.Request {
	r := &web.Request{Method: []byte(method), Authority: []byte(authority), Path: []byte(path), Scheme: "http"}
	if query != "" {
		r.Query = []byte(query)
	}
	return r
}

func TestTemplate(t *testing.T) {
	r := request("POST", "Example.com:8080", "/a%20b/c", "x=1&y")
	for _, tt := range []struct{ in, want, err string }{
		{"https://example.org$request_uri", "https://example.org/a%20b/c?x=1&y", ""},
		{"$scheme://$host/new${uri}x", "http://Example.com/new/a%20b/cx", ""},
		{"[$args] $method $$5", "[x=1&y] POST $5", ""},
		{"plain", "plain", ""},
		{"$nope", "", "unknown placeholder $nope (known: $request_uri, $uri, $args, $host, $scheme, $method)"},
		{"${host", "", `"${host" has no closing }`},
	} {
		tp, err := ParseTemplate(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%q: got error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if got := string(tp.Append(nil, r)); err != nil || got != tt.want {
			t.Errorf("%q: got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	r.Query = nil
	tp, _ := ParseTemplate("$request_uri")
	if got := string(tp.Append(nil, r)); got != "/a%20b/c" {
		t.Errorf("no query: got %q", got)
	}
}

func serve(t *testing.T, h web.Handler, r *web.Request) *webtest.Recorder {
	t.Helper()
	rec := &webtest.Recorder{}
	h.Serve(rec.Begin(r), r)
	if err := rec.End(); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRedirectAndRespond(t *testing.T) {
	loc, _ := ParseTemplate("https://$host$request_uri")
	rec := serve(t, NewRedirect(301, loc), request("GET", "old.example:80", "/p", "q=1"))
	if rec.Status != 301 || string(rec.Header.Get("Location")) != "https://old.example/p?q=1" || rec.Body.String() != "301 Moved Permanently\n" {
		t.Errorf("redirect: got %d %q %q", rec.Status, rec.Header.Get("Location"), rec.Body.String())
	}
	body, _ := ParseTemplate("you asked for $uri\n")
	rec = serve(t, &Respond{Status: 418, ContentType: "text/plain", Body: body}, request("GET", "x", "/tea", ""))
	if rec.Status != 418 || rec.Body.String() != "you asked for /tea\n" || string(rec.Header.Get("Content-Type")) != "text/plain" {
		t.Errorf("respond: got %d %q", rec.Status, rec.Body.String())
	}
}

// TestHeadersOverTheHandler: the rules apply to what the handler wrote,
// set after it, removed even when it set them.
func TestHeadersOverTheHandler(t *testing.T) {
	app := web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		w.Header().Set("X-Powered-By", "PHP")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.WriteString("hi")
	})
	h := NewHeaders(app, []Field{{"X-Frame-Options", "DENY"}, {"X-Extra", "1"}}, []string{"x-powered-by"})
	rec := serve(t, h, request("GET", "x", "/", ""))
	if rec.Header.Has("X-Powered-By") || string(rec.Header.Get("X-Frame-Options")) != "DENY" || string(rec.Header.Get("X-Extra")) != "1" {
		t.Errorf("got fields %v", rec.Header)
	}
}

// TestAllocs: once built, a redirect, a response and the header rules
// around them allocate nothing per request.
func TestAllocs(t *testing.T) {
	loc, _ := ParseTemplate("https://$host$request_uri")
	body, _ := ParseTemplate("hello $uri\n")
	for name, h := range map[string]web.Handler{
		"redirect": NewHeaders(NewRedirect(308, loc), []Field{{"X-Frame-Options", "DENY"}}, []string{"X-Powered-By"}),
		"respond":  NewHeaders(&Respond{Status: 200, ContentType: "text/plain", Body: body}, []Field{{"Cache-Control", "no-store"}}, nil),
	} {
		r := request("GET", "example.com:8443", "/a/b", "c=d")
		var rec webtest.Recorder
		rec.Discard = true
		serve := func() {
			h.Serve(rec.Begin(r), r)
			rec.End()
			rec.Header.Reset()
		}
		serve() // grow the buffers once
		if n := testing.AllocsPerRun(100, serve); n != 0 {
			t.Errorf("%s: %v allocations per request, want 0", name, n)
		}
	}
}

package route

import (
	"strings"
	"testing"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

type req struct {
	method, host, path, query string
	header                    []string // name, value, ...
}

func (q req) build() *web.Request {
	if q.method == "" {
		q.method = "GET"
	}
	r := &web.Request{Method: []byte(q.method), Authority: []byte(q.host), Path: []byte(q.path)}
	if q.query != "" {
		r.Query = []byte(q.query)
	}
	for i := 0; i < len(q.header); i += 2 {
		r.Header.Add(q.header[i], q.header[i+1])
	}
	return r
}

func run(t testing.TB, h web.Handler, q req) (int, string) {
	var rec webtest.Recorder
	r := q.build()
	h.Serve(rec.Begin(r), r)
	if err := rec.End(); err != nil {
		t.Fatal(err)
	}
	return rec.Status, rec.Body.String()
}

func TestList(t *testing.T) {
	l, err := NewList([]Rule{
		{Match{Prefix: "/api/", Methods: []string{"POST"}}, tag("api-post")},
		{Match{Prefix: "/api", Headers: []Pattern{{"Accept", "*json*"}}}, tag("api-json")},
		{Match{Prefix: "/api", Query: []Pattern{{"v", "2*"}, {"debug", "*"}}}, tag("api-v2")},
		{Match{Glob: "*.php"}, tag("php")},
		{Match{Glob: "/user/*/avatar"}, tag("avatar")},
		{Match{Hosts: []string{"*.example.com"}, Prefix: "/"}, tag("sub")},
		{Match{Prefix: "/static"}, tag("static")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		q    req
		want string
	}{
		{req{method: "POST", path: "/api/x"}, "api-post /api /x"},
		{req{path: "/api/x", header: []string{"accept", "application/json"}}, "api-json /api /x"},
		{req{path: "/api/x", header: []string{"Accept", "text/html"}}, "404"},
		{req{path: "/api", query: "a=1&v=2.1&debug"}, "api-v2 /api /"},
		{req{path: "/api", query: "v=2.1"}, "404"},
		{req{path: "/api", query: "v=1&debug=1"}, "404"},
		{req{path: "/apix", header: []string{"Accept", "json"}}, "404"},
		{req{path: "/index.php"}, "php  /index.php"},
		{req{path: "/a/b/c%2Ephp"}, "php  /a/b/c%2Ephp"},
		{req{path: "/user/42/avatar"}, "avatar  /user/42/avatar"},
		{req{path: "/user/42/avatar/x"}, "404"},
		{req{host: "WWW.Example.com.:8080", path: "/x"}, "sub  /x"},
		{req{host: "example.com", path: "/static/a.css"}, "static /static /a.css"},
		{req{host: "a.b.example.com", path: "/x"}, "404"},
	} {
		status, body := run(t, l, tt.q)
		if status == 404 {
			body = "404"
		}
		if body != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.q, body, tt.want)
		}
	}
}

func TestHosts(t *testing.T) {
	h, err := NewHosts([]VHost{
		{[]string{"example.com", "www.example.com"}, tag("main")},
		{[]string{"*.example.com"}, tag("wild")},
		{[]string{"[::1]", "127.0.0.1", "fe80::1"}, tag("ip")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ host, want string }{
		{"example.com", "main"},
		{"EXAMPLE.COM:443", "main"},
		{"www.example.com.", "main"},
		{"api.example.com", "wild"},
		{"[::1]:8000", "ip"},
		{"127.0.0.1", "ip"},
		{"[fe80::1]:443", "ip"},
		{"other.org", "421"},
		{"", "421"},
		{strings.Repeat("a", 300) + ".example.com", "421"},
	} {
		status, body := run(t, h, req{host: tt.host, path: "/"})
		got := strings.Fields(body + " ")[0]
		if status == 421 {
			got = "421"
		}
		if got != tt.want {
			t.Errorf("host %q: got %q (%d), want %q", tt.host, got, status, tt.want)
		}
	}
	withDefault, err := NewHosts([]VHost{{[]string{"a.com"}, tag("a")}, {nil, tag("default")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, body := run(t, withDefault, req{host: "b.com", path: "/"}); !strings.HasPrefix(body, "default") {
		t.Errorf("default site: got %q", body)
	}
	for _, bad := range [][]VHost{
		{{[]string{"a.com"}, tag("1")}, {[]string{"A.com"}, tag("2")}},
		{{nil, tag("1")}, {[]string{"*"}, tag("2")}},
		{{[]string{"a.*.com"}, tag("1")}},
	} {
		if _, err := NewHosts(bad); err == nil {
			t.Errorf("NewHosts(%v): no error", bad)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"a*c", "abbbc", true}, {"a*c", "abcd", false},
		{"*.php", "/x.php", true}, {"*.php", "/x.php5", false}, {"/a/*/b/*", "/a/x/b/y/z", true},
		{"**a", "bba", true}, {"a*b*c", "aXbYbZc", true}, {"abc", "ab", false}, {"", "", true},
	} {
		if got := glob(tt.pattern, []byte(tt.s)); got != tt.want {
			t.Errorf("glob(%q, %q): got %v", tt.pattern, tt.s, got)
		}
	}
}

// TestMatchAllocatesNothing: host lookup and every matcher run without
// allocating.
func TestMatchAllocatesNothing(t *testing.T) {
	l, _ := NewList([]Rule{
		{Match{Prefix: "/api", Methods: []string{"GET"}, Hosts: []string{"*.example.com"},
			Headers: []Pattern{{"Accept", "*json*"}}, Query: []Pattern{{"v", "2"}}, Glob: "/api/*/x"}, tag("a")},
	})
	h, _ := NewHosts([]VHost{{[]string{"Example.com", "*.example.com"}, l}})
	r := req{host: "API.example.com:8443", path: "/api/v1/x", query: "v=2", header: []string{"Accept", "application/json"}}.build()
	var hit bool
	allocs := testing.AllocsPerRun(200, func() {
		site, _ := h.m.lookup(web.Hostname(r.Authority))
		_, hit = site.(*List).rules[0].match(r)
	})
	if !hit || allocs != 0 {
		t.Errorf("match: hit %v, %v allocations, want a hit and 0", hit, allocs)
	}
}

// BenchmarkList1000: a request that the last of 1,000 prefix rules takes.
func BenchmarkList1000(b *testing.B) {
	var rules []Rule
	for i := range 1000 {
		rules = append(rules, Rule{Match{Prefix: "/r" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "/" + itoa(i)}, tag("t")})
	}
	rules[999].Match.Prefix = "/target"
	l, _ := NewList(rules)
	r := req{path: "/target/page"}.build()
	b.ReportAllocs()
	for b.Loop() {
		for _, i := range l.candidates(r.Path) {
			if _, ok := l.rules[i].match(r); ok {
				break
			}
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestListLongSegment: a prefix whose first segment is too long to index
// is still tried.
func TestListLongSegment(t *testing.T) {
	long := "/" + strings.Repeat("s", 100)
	l, _ := NewList([]Rule{{Match{Prefix: "/a"}, tag("a")}, {Match{Prefix: long}, tag("long")}})
	if _, body := run(t, l, req{path: long + "/x"}); !strings.HasPrefix(body, "long") {
		t.Errorf("got %q", body)
	}
}

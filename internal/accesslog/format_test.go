package accesslog

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

// exchange describes a request and its response, for building the
// web values the server would hand to Log.
type exchange struct {
	method, target string
	minor          int
	host           string
	remote         string   // "ip:port", or "" for none
	header         []string // name, value, name, value...
	status         int      // 0: the writer's default, 200
	body           string
	tls            uint16 // the TLS version, 0 on cleartext
}

// build returns the request and a finished response writer for e.
func (e exchange) build(tb testing.TB) (*web.Request, *web.ResponseWriter) {
	tb.Helper()
	r := &web.Request{
		Method:    []byte(e.method),
		Target:    []byte(e.target),
		Authority: []byte(e.host),
		Start:     testStart,
	}
	if e.minor == 0 {
		r.Proto = web.HTTP10
	}
	if e.tls != 0 {
		r.Scheme, r.TLS = "https", &tls.ConnectionState{Version: e.tls}
	}
	if e.remote != "" {
		ap, err := netip.ParseAddrPort(e.remote)
		if err != nil {
			tb.Fatal(err)
		}
		r.RemoteAddr = ap
	}
	for i := 0; i+1 < len(e.header); i += 2 {
		r.Header.Add(e.header[i], e.header[i+1])
	}
	rec := new(webtest.Recorder)
	w := rec.Begin(r)
	if e.status != 0 {
		w.WriteHeader(e.status)
	}
	if e.body != "" {
		if _, err := w.WriteString(e.body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := rec.End(); err != nil {
		tb.Fatal(err)
	}
	return r, w
}

// testStart is a request's arrival with a non-UTC zone, so that the zone
// offset is checked too; testDuration is how long it took.
var (
	testStart    = time.Date(2026, time.January, 2, 15, 4, 5, 123456789, time.FixedZone("", 3600))
	testDuration = 1500 * time.Microsecond
)

// hostile is full of bytes a client might send to forge or break lines.
const hostile = "/a\"b\\c\nd\x00\x7f\xff\xc3\xa9"

var formatTests = []struct {
	name      string
	ex        exchange
	combined  string
	jsonValue string
}{
	{
		name: "get",
		ex: exchange{
			method: "GET", target: "/index.html?q=1", minor: 1, host: "example.com", remote: "192.0.2.7:51234",
			header: []string{"Referer", "https://example.com/", "User-Agent", "curl/8.5.0"},
			body:   "Hello, world!",
		},
		combined:  `192.0.2.7 - - [02/Jan/2026:15:04:05 +0100] "GET /index.html?q=1 HTTP/1.1" 200 13 "https://example.com/" "curl/8.5.0"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"192.0.2.7","method":"GET","target":"/index.html?q=1","proto":"HTTP/1.1","status":200,"bytes":13,"duration_ms":1.500,"referer":"https://example.com/","user_agent":"curl/8.5.0","host":"example.com","tls":"","request_id":"","queue_ms":0.000,"upstream_addr":"","upstream_ms":0.000}`,
	},
	{
		name: "tls13",
		ex: exchange{
			method: "GET", target: "/", minor: 1, host: "example.com", remote: "192.0.2.7:51234",
			body: "x", tls: tls.VersionTLS13,
		},
		combined:  `192.0.2.7 - - [02/Jan/2026:15:04:05 +0100] "GET / HTTP/1.1" 200 1 "-" "-"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"192.0.2.7","method":"GET","target":"/","proto":"HTTP/1.1","status":200,"bytes":1,"duration_ms":1.500,"referer":"","user_agent":"","host":"example.com","tls":"TLSv1.3","request_id":"","queue_ms":0.000,"upstream_addr":"","upstream_ms":0.000}`,
	},
	{
		name: "head",
		ex: exchange{
			method: "HEAD", target: "/", minor: 1, host: "example.com", remote: "192.0.2.7:51234",
			header: []string{"User-Agent", "curl/8.5.0"},
			body:   "not sent",
		},
		combined:  `192.0.2.7 - - [02/Jan/2026:15:04:05 +0100] "HEAD / HTTP/1.1" 200 - "-" "curl/8.5.0"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"192.0.2.7","method":"HEAD","target":"/","proto":"HTTP/1.1","status":200,"bytes":0,"duration_ms":1.500,"referer":"","user_agent":"curl/8.5.0","host":"example.com","tls":"","request_id":"","queue_ms":0.000,"upstream_addr":"","upstream_ms":0.000}`,
	},
	{
		name: "no_content_empty_referer",
		ex: exchange{
			method: "DELETE", target: "/item/7", minor: 1, host: "example.com", remote: "192.0.2.7:51234",
			header: []string{"Referer", ""},
			status: 204,
		},
		combined:  `192.0.2.7 - - [02/Jan/2026:15:04:05 +0100] "DELETE /item/7 HTTP/1.1" 204 - "-" "-"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"192.0.2.7","method":"DELETE","target":"/item/7","proto":"HTTP/1.1","status":204,"bytes":0,"duration_ms":1.500,"referer":"","user_agent":"","host":"example.com","tls":"","request_id":"","queue_ms":0.000,"upstream_addr":"","upstream_ms":0.000}`,
	},
	{
		name: "http10_ipv6_no_host",
		ex: exchange{
			method: "GET", target: "/missing", minor: 0, remote: "[2001:db8::1]:443",
			status: 404, body: "not found\n",
		},
		combined:  `2001:db8::1 - - [02/Jan/2026:15:04:05 +0100] "GET /missing HTTP/1.0" 404 10 "-" "-"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"2001:db8::1","method":"GET","target":"/missing","proto":"HTTP/1.0","status":404,"bytes":10,"duration_ms":1.500,"referer":"","user_agent":"","host":"","tls":"","request_id":"","queue_ms":0.000,"upstream_addr":"","upstream_ms":0.000}`,
	},
	{
		name: "ipv4_mapped_absolute_form",
		ex: exchange{
			method: "GET", target: "http://example.com/x", minor: 1, host: "example.com", remote: "[::ffff:192.0.2.9]:8080",
			body: "x",
		},
		combined:  `192.0.2.9 - - [02/Jan/2026:15:04:05 +0100] "GET http://example.com/x HTTP/1.1" 200 1 "-" "-"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"192.0.2.9","method":"GET","target":"http://example.com/x","proto":"HTTP/1.1","status":200,"bytes":1,"duration_ms":1.500,"referer":"","user_agent":"","host":"example.com","tls":"","request_id":"","queue_ms":0.000,"upstream_addr":"","upstream_ms":0.000}`,
	},
	{
		name: "no_request_line_no_remote",
		ex: exchange{
			minor: 1, status: 400, body: "bad request\n",
		},
		combined:  `- - - [02/Jan/2026:15:04:05 +0100] "-" 400 12 "-" "-"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"","method":"","target":"","proto":"HTTP/1.1","status":400,"bytes":12,"duration_ms":1.500,"referer":"","user_agent":"","host":"","tls":"","request_id":"","queue_ms":0.000,"upstream_addr":"","upstream_ms":0.000}`,
	},
	{
		name: "hostile",
		ex: exchange{
			method: "G\"E T", target: hostile, minor: 1, host: "example.com", remote: "192.0.2.7:51234",
			header: []string{
				"Referer", "x\" 200 1 \"-\" \"\\\tq",
				"User-Agent", "ua\xff\xfe\xc3\xa9 \u2028",
			},
		},
		combined: `192.0.2.7 - - [02/Jan/2026:15:04:05 +0100] "G\x22E T /a\x22b\x5Cc\x0Ad\x00\x7F\xFF\xC3\xA9 HTTP/1.1" 200 - ` +
			`"x\x22 200 1 \x22-\x22 \x22\x5C\x09q" "ua\xFF\xFE\xC3\xA9 \xE2\x80\xA8"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"192.0.2.7","method":"G\"E T","target":"/a\"b\\c\nd\u0000\u007f\ufffdé",` +
			`"proto":"HTTP/1.1","status":200,"bytes":0,"duration_ms":1.500,"referer":"x\" 200 1 \"-\" \"\\\tq",` +
			`"user_agent":"ua\ufffd\ufffdé \u2028","host":"example.com","tls":"","request_id":"","queue_ms":0.000,"upstream_addr":"","upstream_ms":0.000}`,
	},
}

func TestFormats(t *testing.T) {
	for _, tt := range formatTests {
		t.Run(tt.name, func(t *testing.T) {
			r, w := tt.ex.build(t)
			for _, c := range []struct {
				f    Format
				want string
			}{{Combined, tt.combined}, {JSON, tt.jsonValue}} {
				got := string(c.f.appendRecord(nil, r, w, testStart, testDuration))
				if want := c.want + "\n"; got != want {
					t.Errorf("%v:\ngot  %q\nwant %q", c.f, got, want)
				}
			}
		})
	}
}

func TestJSONDecodes(t *testing.T) {
	for _, tt := range formatTests {
		t.Run(tt.name, func(t *testing.T) {
			r, w := tt.ex.build(t)
			checkJSON(t, r, w)
		})
	}
}

// checkJSON checks that the JSON record for r and w decodes, and that each
// string decodes to what encoding/json makes of the same bytes.
func checkJSON(t *testing.T, r *web.Request, w *web.ResponseWriter) {
	t.Helper()
	line := JSON.appendRecord(nil, r, w, testStart, testDuration)
	if i := strings.IndexByte(string(line), '\n'); i != len(line)-1 {
		t.Fatalf("newline at %d in %q, want only at the end", i, line)
	}
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("%v in %q", err, line)
	}
	for key, raw := range map[string][]byte{
		"method":     r.Method,
		"target":     r.Target,
		"referer":    r.Header.Get("Referer"),
		"user_agent": r.Header.Get("User-Agent"),
		"host":       r.Authority,
	} {
		ref, err := json.Marshal(string(raw))
		if err != nil {
			t.Fatal(err)
		}
		var want string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got[key] != want {
			t.Errorf("%s: got %q, want %q", key, got[key], want)
		}
	}
	if got["status"] != float64(w.Status()) || got["bytes"] != float64(w.BodyBytes()) {
		t.Errorf("status, bytes: got %v, %v, want %d, %d", got["status"], got["bytes"], w.Status(), w.BodyBytes())
	}
	if got["duration_ms"] != 1.5 {
		t.Errorf("duration_ms: got %v, want 1.5", got["duration_ms"])
	}
}

// combinedLine matches a Combined record whose quoted fields hold only
// printable bytes other than '"' and '\\', and \xHH escapes.
var combinedLine = regexp.MustCompile(`^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [-+]\d{4})\] ` +
	`"((?:[ !#-\[\]-~]|\\x[0-9A-F]{2})*)" (\d{3}) (\d+|-) ` +
	`"((?:[ !#-\[\]-~]|\\x[0-9A-F]{2})*)" "((?:[ !#-\[\]-~]|\\x[0-9A-F]{2})*)"\n$`)

// unescapeCombined reverses appendEscaped.
func unescapeCombined(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		c, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
		if err != nil {
			t.Fatalf("bad escape in %q", s)
		}
		b.WriteByte(byte(c))
		i += 3
	}
	return b.String()
}

// checkCombined checks that the Combined record for r and w is one line of
// the right shape whose fields unescape to the request's bytes.
func checkCombined(t *testing.T, r *web.Request, w *web.ResponseWriter) {
	t.Helper()
	line := string(Combined.appendRecord(nil, r, w, testStart, testDuration))
	m := combinedLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("malformed line %q", line)
	}
	want := "-"
	if len(r.Method) > 0 {
		want = string(r.Method) + " " + string(r.Target) + " " + r.Proto.String()
	}
	if got := unescapeCombined(t, m[3]); got != want {
		t.Errorf("request line: got %q, want %q", got, want)
	}
	for _, f := range []struct {
		name string
		got  string
	}{{"Referer", m[6]}, {"User-Agent", m[7]}} {
		want := string(r.Header.Get(f.name))
		if want == "" {
			want = "-"
		}
		if got := unescapeCombined(t, f.got); got != want {
			t.Errorf("%s: got %q, want %q", f.name, got, want)
		}
	}
}

func TestCombinedRoundTrip(t *testing.T) {
	for _, tt := range formatTests {
		t.Run(tt.name, func(t *testing.T) {
			r, w := tt.ex.build(t)
			checkCombined(t, r, w)
		})
	}
}

// fuzzExchange builds an exchange from fuzzed bytes. Header values a parser
// would refuse (control bytes) cannot be in a Request, so they are left out.
func fuzzExchange(t *testing.T, method, target, referer, ua string) (*web.Request, *web.ResponseWriter) {
	e := exchange{method: method, target: target, minor: 1, host: target, remote: "192.0.2.1:1"}
	if web.ValidFieldValue(referer) {
		e.header = append(e.header, "Referer", referer)
	}
	if web.ValidFieldValue(ua) {
		e.header = append(e.header, "User-Agent", ua)
	}
	return e.build(t)
}

func addFuzzSeeds(f *testing.F) {
	for _, tt := range formatTests {
		r, _ := tt.ex.build(f)
		f.Add(tt.ex.method, tt.ex.target, string(r.Header.Get("Referer")), string(r.Header.Get("User-Agent")))
	}
}

func FuzzCombined(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, method, target, referer, ua string) {
		r, w := fuzzExchange(t, method, target, referer, ua)
		checkCombined(t, r, w)
	})
}

func FuzzJSON(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, method, target, referer, ua string) {
		r, w := fuzzExchange(t, method, target, referer, ua)
		checkJSON(t, r, w)
	})
}

func TestAppendMillis(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.000"},
		{999 * time.Nanosecond, "0.000"},
		{time.Microsecond, "0.001"},
		{42 * time.Millisecond, "42.000"},
		{1234567 * time.Microsecond, "1234.567"},
		{-time.Second, "0.000"},
	} {
		if got := string(appendMillis(nil, tt.d)); got != tt.want {
			t.Errorf("appendMillis(%v): got %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{"combined", Combined, false},
		{"json", JSON, false},
		{"", Format{}, true},
		{"Combined", Format{}, true},
		{"common", Format{}, true},
		{"json ", Format{}, true},
	} {
		got, err := ParseFormat(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrUnknownFormat) {
				t.Errorf("ParseFormat(%q): got error %v, want ErrUnknownFormat", tt.in, err)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, strconv.Quote(tt.in)) || !strings.Contains(msg, "combined") || !strings.Contains(msg, "json") {
				t.Errorf("ParseFormat(%q): error %q does not name the value and the choices", tt.in, msg)
			}
			continue
		}
		if err != nil || got.kind != tt.want.kind {
			t.Errorf("ParseFormat(%q): got %v, %v, want %v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("%v.String(): got %q, want %q", got, got.String(), tt.in)
		}
	}
}

// noted builds the exchange of a request a worker took 2 ms after it
// arrived, and an upstream answered in 1.25 ms, with id "abc".
func noted(t *testing.T) (*web.Request, *web.ResponseWriter) {
	r, w := exchange{
		method: "GET", target: "/p?q=1", minor: 1, host: "example.com:8443", remote: "192.0.2.7:51234",
		header: []string{"User-Agent", "ua \"x\"", "X-Custom-Thing", "v"}, body: "hello", tls: tls.VersionTLS12,
	}.build(t)
	r.Path, r.Query = []byte("/p"), []byte("q=1")
	r.SetID("X-Request-ID", []byte("abc"))
	r.Note = web.Note{Dispatched: testStart.Add(2 * time.Millisecond), Upstream: "10.0.0.1:9000", UpstreamTime: 1250 * time.Microsecond}
	w.Header().Set("X-Cache", "HIT")
	return r, w
}

func TestTemplate(t *testing.T) {
	r, w := noted(t)
	for _, tt := range []struct{ format, want string }{
		{"$remote_addr:$remote_port $status $body_bytes_sent", "192.0.2.7:51234 200 5"},
		{"$client_addr", "192.0.2.7"},
		{"[$time_local] $time_iso8601 $msec", "[02/Jan/2026:15:04:05 +0100] 2026-01-02T15:04:05+01:00 1767362645.123"},
		{`"$request" $request_method $request_uri $uri $args $query_string`, `"GET /p?q=1 HTTP/1.1" GET /p?q=1 /p q=1 q=1`},
		{"$server_protocol $scheme $host $ssl_protocol $tls_version", "HTTP/1.1 https example.com TLSv1.2 TLSv1.2"},
		{"$request_time $queue_time $upstream_addr $upstream_response_time", "0.001 0.002 10.0.0.1:9000 0.001"},
		{"id=$request_id", "id=abc"},
		{`ua="$http_user_agent" $http_x_custom_thing $http_missing`, `ua="ua \x22x\x22" v -`},
		{"${status}s $sent_http_x_cache", "200s HIT"},
		{"cost: 5$ and $", "cost: 5$ and $"},
	} {
		f, err := ParseFormat(tt.format)
		if err != nil {
			t.Errorf("ParseFormat(%q): %v", tt.format, err)
			continue
		}
		if got, want := string(f.appendRecord(nil, r, w, testStart, testDuration)), tt.want+"\n"; got != want {
			t.Errorf("%q:\ngot  %q\nwant %q", tt.format, got, want)
		}
	}
}

// TestTemplateClientAddr: through a trusted proxy, $client_addr is the
// client its X-Forwarded-For names, and $remote_addr the proxy's.
func TestTemplateClientAddr(t *testing.T) {
	r, w := noted(t)
	r.RemoteAddr = netip.MustParseAddrPort("10.0.0.1:40000")
	r.Header.AddTrusted([]byte("X-Forwarded-For"), []byte("203.0.113.5"))
	r.TrustProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	f, err := ParseFormat("$client_addr $remote_addr")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(f.appendRecord(nil, r, w, testStart, testDuration)), "203.0.113.5 10.0.0.1\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestTemplateEmpty: a variable with no value is "-", as nginx writes it.
func TestTemplateEmpty(t *testing.T) {
	r, w := exchange{minor: 1, status: 400}.build(t)
	f, err := ParseFormat("$remote_addr $request $request_id $queue_time $upstream_addr $upstream_response_time $ssl_protocol $http_referer")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(f.appendRecord(nil, r, w, testStart, testDuration)), "- - - - - - - -\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTemplateUnknownVariable(t *testing.T) {
	for _, in := range []string{"$status $nope", "${request_tim}", "$http_"} {
		_, err := ParseFormat(in)
		if !errors.Is(err, ErrUnknownVariable) {
			t.Errorf("ParseFormat(%q): got %v, want ErrUnknownVariable", in, err)
			continue
		}
		if !strings.Contains(err.Error(), "$remote_addr") {
			t.Errorf("ParseFormat(%q): error %q does not list the variables", in, err)
		}
	}
	_, err := ParseFormat("$status $nope")
	if err == nil || !strings.Contains(err.Error(), "$nope ") {
		t.Errorf("error %v does not name $nope", err)
	}
}

// TestJSONNoted: the fields handlers note, in JSON.
func TestJSONNoted(t *testing.T) {
	r, w := noted(t)
	line := JSON.appendRecord(nil, r, w, testStart, testDuration)
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("%v in %q", err, line)
	}
	want := map[string]any{"request_id": "abc", "queue_ms": 2.0, "upstream_addr": "10.0.0.1:9000", "upstream_ms": 1.25, "tls": "TLSv1.2", "proto": "HTTP/1.1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
}

func TestAppendJSONConfig(t *testing.T) {
	got := string(appendJSONConfig(nil, "a\"b\\c\x01é"))
	if want := `a\"b\\c\u0001é`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestAppendRecordAllocs: every format appends a record without
// allocating, into a buffer with room (as Log's, in steady state).
func TestAppendRecordAllocs(t *testing.T) {
	r, w := noted(t)
	tmpl, err := ParseFormat(`$remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_user_agent" ` +
		`$request_time $queue_time $upstream_addr $upstream_response_time $request_id $ssl_protocol $sent_http_x_cache $msec $time_iso8601`)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	for _, f := range []Format{Combined, JSON, tmpl} {
		if n := testing.AllocsPerRun(100, func() { buf = f.appendRecord(buf[:0], r, w, testStart, testDuration) }); n != 0 {
			t.Errorf("%v: %v allocations per record, want 0", f, n)
		}
	}
}

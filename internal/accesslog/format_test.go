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
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"192.0.2.7","method":"GET","target":"/index.html?q=1","proto":"HTTP/1.1","status":200,"bytes":13,"duration_ms":1.500,"referer":"https://example.com/","user_agent":"curl/8.5.0","host":"example.com","tls":""}`,
	},
	{
		name: "tls13",
		ex: exchange{
			method: "GET", target: "/", minor: 1, host: "example.com", remote: "192.0.2.7:51234",
			body: "x", tls: tls.VersionTLS13,
		},
		combined:  `192.0.2.7 - - [02/Jan/2026:15:04:05 +0100] "GET / HTTP/1.1" 200 1 "-" "-"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"192.0.2.7","method":"GET","target":"/","proto":"HTTP/1.1","status":200,"bytes":1,"duration_ms":1.500,"referer":"","user_agent":"","host":"example.com","tls":"TLSv1.3"}`,
	},
	{
		name: "head",
		ex: exchange{
			method: "HEAD", target: "/", minor: 1, host: "example.com", remote: "192.0.2.7:51234",
			header: []string{"User-Agent", "curl/8.5.0"},
			body:   "not sent",
		},
		combined:  `192.0.2.7 - - [02/Jan/2026:15:04:05 +0100] "HEAD / HTTP/1.1" 200 - "-" "curl/8.5.0"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"192.0.2.7","method":"HEAD","target":"/","proto":"HTTP/1.1","status":200,"bytes":0,"duration_ms":1.500,"referer":"","user_agent":"curl/8.5.0","host":"example.com","tls":""}`,
	},
	{
		name: "no_content_empty_referer",
		ex: exchange{
			method: "DELETE", target: "/item/7", minor: 1, host: "example.com", remote: "192.0.2.7:51234",
			header: []string{"Referer", ""},
			status: 204,
		},
		combined:  `192.0.2.7 - - [02/Jan/2026:15:04:05 +0100] "DELETE /item/7 HTTP/1.1" 204 - "-" "-"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"192.0.2.7","method":"DELETE","target":"/item/7","proto":"HTTP/1.1","status":204,"bytes":0,"duration_ms":1.500,"referer":"","user_agent":"","host":"example.com","tls":""}`,
	},
	{
		name: "http10_ipv6_no_host",
		ex: exchange{
			method: "GET", target: "/missing", minor: 0, remote: "[2001:db8::1]:443",
			status: 404, body: "not found\n",
		},
		combined:  `2001:db8::1 - - [02/Jan/2026:15:04:05 +0100] "GET /missing HTTP/1.0" 404 10 "-" "-"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"2001:db8::1","method":"GET","target":"/missing","proto":"HTTP/1.0","status":404,"bytes":10,"duration_ms":1.500,"referer":"","user_agent":"","host":"","tls":""}`,
	},
	{
		name: "ipv4_mapped_absolute_form",
		ex: exchange{
			method: "GET", target: "http://example.com/x", minor: 1, host: "example.com", remote: "[::ffff:192.0.2.9]:8080",
			body: "x",
		},
		combined:  `192.0.2.9 - - [02/Jan/2026:15:04:05 +0100] "GET http://example.com/x HTTP/1.1" 200 1 "-" "-"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"192.0.2.9","method":"GET","target":"http://example.com/x","proto":"HTTP/1.1","status":200,"bytes":1,"duration_ms":1.500,"referer":"","user_agent":"","host":"example.com","tls":""}`,
	},
	{
		name: "no_request_line_no_remote",
		ex: exchange{
			minor: 1, status: 400, body: "bad request\n",
		},
		combined:  `- - - [02/Jan/2026:15:04:05 +0100] "-" 400 12 "-" "-"`,
		jsonValue: `{"time":"2026-01-02T15:04:05.123+01:00","remote":"","method":"","target":"","proto":"HTTP/1.1","status":400,"bytes":12,"duration_ms":1.500,"referer":"","user_agent":"","host":"","tls":""}`,
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
			`"user_agent":"ua\ufffd\ufffdé \u2028","host":"example.com","tls":""}`,
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
		{"", 0, true},
		{"Combined", 0, true},
		{"common", 0, true},
		{"json ", 0, true},
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
		if err != nil || got != tt.want {
			t.Errorf("ParseFormat(%q): got %v, %v, want %v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("%v.String(): got %q, want %q", got, got.String(), tt.in)
		}
	}
}

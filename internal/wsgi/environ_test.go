package wsgi

import (
	"net/netip"
	"strings"
	"testing"

	"nave/internal/http1"
	"nave/internal/web"
)

// environOf parses raw and builds its environ as the handler would.
func environOf(t *testing.T, raw, mount string, bodyLen int64) map[string]string {
	t.Helper()
	var r http1.Request
	if err := http1.ReadRequest(&http1.Input{Src: strings.NewReader(raw)}, &r, &http1.Limits{}); err != nil {
		t.Fatalf("ReadRequest(%q): %v", raw, err)
	}
	r.RemoteAddr = netip.MustParseAddrPort("[::ffff:10.0.0.7]:51234")
	r.LocalAddr = netip.MustParseAddrPort("127.0.0.1:8000")
	mount = strings.TrimSuffix(mount, "/")
	if !strings.HasPrefix(string(r.Path), mount) {
		t.Fatalf("%q not under %q", r.Path, mount)
	}
	r.SetMount(len(mount))
	path, script := scriptAndPath(nil, &r.Request)
	blob := appendEnviron(nil, &r.Request, &envRequest{scriptName: path[:script], pathInfo: path[script:], bodyLen: bodyLen})
	parts := strings.Split(string(blob), "\x00")
	if len(parts)%2 != 0 {
		t.Fatalf("odd number of parts in %q", blob)
	}
	env := map[string]string{}
	for i := 0; i < len(parts); i += 2 {
		if _, dup := env[parts[i]]; dup {
			t.Errorf("key %q twice", parts[i])
		}
		env[parts[i]] = parts[i+1]
	}
	return env
}

// TestEnvironRequestID: the request's id is HTTP_X_REQUEST_ID (reqid
// took the client's field out of the header).
func TestEnvironRequestID(t *testing.T) {
	var r http1.Request
	raw := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	if err := http1.ReadRequest(&http1.Input{Src: strings.NewReader(raw)}, &r, &http1.Limits{}); err != nil {
		t.Fatal(err)
	}
	r.SetID("X-Request-ID", []byte("id-42"))
	blob := string(appendEnviron(nil, &r.Request, &envRequest{pathInfo: []byte("/"), bodyLen: -1}))
	if !strings.HasSuffix(blob, "\x00HTTP_X_REQUEST_ID\x00id-42") {
		t.Errorf("environ %q: want HTTP_X_REQUEST_ID id-42 last", blob)
	}
}

func TestAppendEnviron(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		mount   string
		bodyLen int64
		want    map[string]string
		absent  []string
	}{
		{
			name: "get",
			raw:  "GET /a%20b/c?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\n\r\n",
			want: map[string]string{
				"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/a b/c", "QUERY_STRING": "x=1&y=%20",
				"REQUEST_URI": "/a%20b/c?x=1&y=%20", "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "example.com",
				"SERVER_PORT": "8000", "REMOTE_ADDR": "10.0.0.7", "REMOTE_PORT": "51234",
				"HTTP_HOST": "example.com:8080", "HTTP_USER_AGENT": "t",
			},
			bodyLen: -1,
			absent:  []string{"CONTENT_LENGTH", "CONTENT_TYPE"},
		},
		{
			name:    "mounted",
			raw:     "GET /app/x HTTP/1.1\r\nHost: h\r\n\r\n",
			mount:   "/app",
			bodyLen: -1,
			want:    map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/x"},
		},
		{
			name:    "mount_root",
			raw:     "GET /app HTTP/1.1\r\nHost: h\r\n\r\n",
			mount:   "/app",
			bodyLen: -1,
			want:    map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": ""},
		},
		{
			name:    "no_query",
			raw:     "GET / HTTP/1.0\r\n\r\n",
			bodyLen: -1,
			want:    map[string]string{"QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.0", "SERVER_NAME": "127.0.0.1"},
			absent:  []string{"HTTP_HOST"},
		},
		{
			name:    "post",
			raw:     "POST /f HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=b",
			bodyLen: 3,
			want:    map[string]string{"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": "3"},
			absent:  []string{"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"},
		},
		{
			name:    "chunked",
			raw:     "POST /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			bodyLen: 3,
			want:    map[string]string{"CONTENT_LENGTH": "3"},
			absent:  []string{"HTTP_TRANSFER_ENCODING"},
		},
		{
			name: "repeated",
			raw: "GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nX-Multi: 1\r\naccept: b\r\nx-multi: 2\r\n" +
				"Cookie: a=1\r\nCookie: b=2\r\n\r\n",
			bodyLen: -1,
			want:    map[string]string{"HTTP_ACCEPT": "a, b", "HTTP_X_MULTI": "1, 2", "HTTP_COOKIE": "a=1; b=2"},
		},
		{
			name:    "dropped",
			raw:     "GET / HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: evil\r\nX-Forwarded-For: 1.2.3.4\r\nProxy: http://evil\r\n\r\n",
			bodyLen: -1,
			want:    map[string]string{"HTTP_X_FORWARDED_FOR": "1.2.3.4"},
			absent:  []string{"HTTP_PROXY"},
		},
		{
			name:    "latin1_header",
			raw:     "GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xe9\r\n\r\n",
			bodyLen: -1,
			want:    map[string]string{"HTTP_X_NAME": "caf\xe9"},
		},
		{
			name:    "ipv6_host",
			raw:     "GET / HTTP/1.1\r\nHost: [::1]:9\r\n\r\n",
			bodyLen: -1,
			want:    map[string]string{"SERVER_NAME": "[::1]", "HTTP_HOST": "[::1]:9"},
		},
		{
			name:    "absolute_form",
			raw:     "GET http://other.example/p?q HTTP/1.1\r\nHost: h\r\n\r\n",
			bodyLen: -1,
			want:    map[string]string{"SERVER_NAME": "other.example", "PATH_INFO": "/p", "QUERY_STRING": "q"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := environOf(t, tc.raw, tc.mount, tc.bodyLen)
			for k, v := range tc.want {
				if got, ok := env[k]; !ok || got != v {
					t.Errorf("%s: got %q (present %v), want %q", k, got, ok, v)
				}
			}
			for _, k := range tc.absent {
				if v, ok := env[k]; ok {
					t.Errorf("%s: present as %q, want absent", k, v)
				}
			}
		})
	}
}

func BenchmarkAppendEnviron(b *testing.B) {
	raw := "GET /some/path?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: wrk\r\nAccept: */*\r\n" +
		"Accept-Encoding: gzip\r\nCookie: session=abc\r\n\r\n"
	var r http1.Request
	if err := http1.ReadRequest(&http1.Input{Src: strings.NewReader(raw)}, &r, &http1.Limits{}); err != nil {
		b.Fatal(err)
	}
	r.RemoteAddr = netip.MustParseAddrPort("127.0.0.1:5000")
	r.LocalAddr = netip.MustParseAddrPort("127.0.0.1:8000")
	var blob, path []byte
	b.ReportAllocs()
	for b.Loop() {
		path = web.AppendUnescaped(path[:0], r.Path)
		blob = appendEnviron(blob[:0], &r.Request, &envRequest{pathInfo: path, bodyLen: -1})
	}
}

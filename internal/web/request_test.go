package web

import "testing"

func TestHostName(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"example.com", "example.com"},
		{"example.com:8080", "example.com"},
		{"[::1]:8080", "[::1]"},
		{"[::1]", "[::1]"},
		{"127.0.0.1:80", "127.0.0.1"},
		{"", ""},
	} {
		if got := string(Hostname([]byte(tc.host))); got != tc.want {
			t.Errorf("Hostname(%q): got %q, want %q", tc.host, got, tc.want)
		}
	}
}

func TestAppendUnescaped(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"/", "/"},
		{"/a%20b", "/a b"},
		{"/caf%C3%A9", "/caf\xc3\xa9"}, // bytes, carried as latin-1 by the adapter
		{"/%e9t%E9", "/\xe9t\xe9"},
		{"/100%", "/100%"},    // not an escape: left as is
		{"/%zz%4", "/%zz%4"},  // neither
		{"/a%2Fb", "/a/b"},    // decoded once, as PEP 3333 says
		{"/%2525", "/%25"},    // once only
		{"/x%00y", "/x\x00y"}, // the handler refuses this one
		{"/%41%42%43", "/ABC"},
	} {
		if got := string(AppendUnescaped(nil, []byte(tc.raw))); got != tc.want {
			t.Errorf("AppendUnescaped(%q): got %q, want %q", tc.raw, got, tc.want)
		}
	}
}

func TestProtoVersion(t *testing.T) {
	for p, want := range map[Proto]string{HTTP10: "1.0", HTTP11: "1.1", HTTP2: "2", HTTP3: "3"} {
		if got := p.Version(); got != want {
			t.Errorf("%v.Version() = %q, want %q", p, got, want)
		}
	}
}

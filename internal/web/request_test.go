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

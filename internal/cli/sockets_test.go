package cli

import (
	"net"
	"testing"
)

// TestSameAddress: how a passed socket's address matches a configured
// one.
func TestSameAddress(t *testing.T) {
	tcp := func(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }
	tests := []struct {
		name string
		sock net.Addr
		addr string
		want bool
	}{
		{"same", tcp("127.0.0.1", 8000), "127.0.0.1:8000", true},
		{"other_port", tcp("127.0.0.1", 8000), "127.0.0.1:8001", false},
		{"other_ip", tcp("127.0.0.2", 8000), "127.0.0.1:8000", false},
		{"any_v4", tcp("0.0.0.0", 80), "0.0.0.0:80", true},
		{"any_v6_socket", tcp("::", 80), "0.0.0.0:80", true},
		{"any_empty_host", tcp("::", 80), ":80", true},
		{"any_v6_config", tcp("0.0.0.0", 80), "[::]:80", true},
		{"any_is_not_loopback", tcp("0.0.0.0", 80), "127.0.0.1:80", false},
		{"loopback_is_not_any", tcp("127.0.0.1", 80), "0.0.0.0:80", false},
		{"v6_loopback", tcp("::1", 443), "[::1]:443", true},
		{"localhost", tcp("127.0.0.1", 8000), "localhost:8000", true},
		{"port_zero", tcp("127.0.0.1", 0), "127.0.0.1:0", false},
		{"no_port", tcp("127.0.0.1", 80), "127.0.0.1", false},
		{"unix", &net.UnixAddr{Name: "/run/nave/admin.sock", Net: "unix"}, "/run/nave/admin.sock", true},
		{"unix_other", &net.UnixAddr{Name: "/run/nave/admin.sock", Net: "unix"}, "/run/other.sock", false},
	}
	for _, tt := range tests {
		if got := sameAddress(tt.sock, tt.addr); got != tt.want {
			t.Errorf("%s: sameAddress(%v, %q) = %v, want %v", tt.name, tt.sock, tt.addr, got, tt.want)
		}
	}
}

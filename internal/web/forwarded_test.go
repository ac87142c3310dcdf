package web

import (
	"net/netip"
	"testing"
)

// TestTrustProxies: through trusted proxies, the client is the last
// X-Forwarded-For entry that is not one of them (the first, when all
// are), belief ends at an entry that is not an address, and the scheme is
// the last X-Forwarded-Proto; from anyone else the fields are ignored.
func TestTrustProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	proxy := netip.MustParseAddrPort("10.0.0.1:40000")
	stranger := netip.MustParseAddrPort("198.51.100.2:40000")
	tests := []struct {
		name   string
		from   netip.AddrPort
		tls    bool
		xff    []string // X-Forwarded-For fields, in order
		proto  []string // X-Forwarded-Proto fields
		client string   // ClientAddr; "" for the proxy itself
		scheme string
	}{
		{"one proxy", proxy, false, []string{"192.0.2.7"}, []string{"https"}, "192.0.2.7:0", "https"},
		{"no fields", proxy, false, nil, nil, "", "http"},
		{"no fields, TLS", proxy, true, nil, nil, "", "https"},
		{"a chain of trusted proxies", proxy, false, []string{"192.0.2.7, 10.1.1.1,10.2.2.2"}, nil, "192.0.2.7:0", "http"},
		{"the client's own entry is not believed", proxy, false, []string{"203.0.113.66, 192.0.2.7, 10.1.1.1"}, nil, "192.0.2.7:0", "http"},
		{"repeated fields read in order", proxy, false, []string{"203.0.113.66", "192.0.2.7", "10.1.1.1"}, nil, "192.0.2.7:0", "http"},
		{"every entry a proxy: the first", proxy, false, []string{"10.9.9.9, 10.1.1.1"}, nil, "10.9.9.9:0", "http"},
		{"garbage ends belief", proxy, false, []string{"192.0.2.7, bogus, 10.1.1.1"}, nil, "10.1.1.1:0", "http"},
		{"garbage last: the proxy", proxy, false, []string{"192.0.2.7, unknown"}, nil, "", "http"},
		{"empty entry ends belief", proxy, false, []string{"192.0.2.7,,10.1.1.1"}, nil, "10.1.1.1:0", "http"},
		{"IPv6, bracketed, with a port", proxy, false, []string{"[2001:db9::5]:4711, 2001:db8::1"}, nil, "[2001:db9::5]:4711", "http"},
		{"IPv6 bare", proxy, false, []string{"2001:db9::5"}, nil, "[2001:db9::5]:0", "http"},
		{"IPv4 with a port", proxy, false, []string{"192.0.2.7:5555"}, nil, "192.0.2.7:5555", "http"},
		{"a zone is no client", proxy, false, []string{"fe80::1%eth0"}, nil, "", "http"},
		{"proto: the last value", proxy, false, nil, []string{"http", "HTTPS"}, "", "https"},
		{"proto: the last of a list", proxy, true, nil, []string{"https, http"}, "", "http"},
		{"proto: neither http nor https is ignored", proxy, true, nil, []string{"wss"}, "", "https"},
		{"a stranger's fields are ignored", stranger, false, []string{"192.0.2.7"}, []string{"https"}, "", "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Request{RemoteAddr: tt.from, Scheme: "http"}
			if tt.tls {
				r.Scheme = "https"
			}
			for _, v := range tt.xff {
				r.Header.AddTrusted([]byte("x-forwarded-for"), []byte(v))
			}
			for _, v := range tt.proto {
				r.Header.AddTrusted([]byte("X-Forwarded-Proto"), []byte(v))
			}
			r.TrustProxies(trusted)
			if r.FromProxy != (tt.from == proxy) {
				t.Errorf("FromProxy = %v", r.FromProxy)
			}
			want := tt.from
			if tt.client != "" {
				want = netip.MustParseAddrPort(tt.client)
			}
			if got := r.ClientAddr(); got != want {
				t.Errorf("ClientAddr = %v, want %v", got, want)
			}
			if got := r.ClientScheme(); got != tt.scheme {
				t.Errorf("ClientScheme = %q, want %q", got, tt.scheme)
			}
			r.Reset()
			if r.ClientAddr().IsValid() || r.ClientScheme() != "http" {
				t.Errorf("after Reset: ClientAddr %v, ClientScheme %q", r.ClientAddr(), r.ClientScheme())
			}
		})
	}
}

// TestTrustProxiesMapped: an IPv4 proxy seen as an IPv4-mapped IPv6
// address (a dual-stack listener) is still trusted.
func TestTrustProxiesMapped(t *testing.T) {
	r := &Request{RemoteAddr: netip.MustParseAddrPort("[::ffff:10.0.0.1]:40000")}
	r.Header.AddTrusted([]byte("X-Forwarded-For"), []byte("192.0.2.7"))
	r.TrustProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	if got := r.ClientAddr(); got != netip.MustParseAddrPort("192.0.2.7:0") {
		t.Errorf("ClientAddr = %v, want 192.0.2.7:0", got)
	}
}

// TestTrustProxiesUnixPeer: a peer with no address (a Unix socket's) is
// trusted only by a list holding the zero Prefix (trusted_proxies' unix).
func TestTrustProxiesUnixPeer(t *testing.T) {
	for _, tt := range []struct {
		name    string
		trusted []netip.Prefix
		want    bool
	}{
		{"unix listed", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), {}}, true},
		{"addresses only", []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}, false},
		{"none", nil, false},
	} {
		r := &Request{}
		r.Header.AddTrusted([]byte("X-Forwarded-For"), []byte("192.0.2.7"))
		r.TrustProxies(tt.trusted)
		if r.FromProxy != tt.want || (r.ClientAddr() == netip.MustParseAddrPort("192.0.2.7:0")) != tt.want {
			t.Errorf("%s: FromProxy %v, ClientAddr %v; want trusted %v", tt.name, r.FromProxy, r.ClientAddr(), tt.want)
		}
	}
	// An address is never trusted by the stand-in for addressless peers.
	if Trusted([]netip.Prefix{{}}, netip.MustParseAddr("127.0.0.1")) {
		t.Error("127.0.0.1 trusted by a list of unix alone")
	}
}

// TestTrustProxiesAllocs: reading what the proxies say allocates nothing,
// on a path every request through a proxy takes.
func TestTrustProxiesAllocs(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	r := &Request{RemoteAddr: netip.MustParseAddrPort("10.0.0.1:40000")}
	r.Header.AddTrusted([]byte("X-Forwarded-For"), []byte("[2001:db8::7]:4711, 192.0.2.7, 10.1.1.1"))
	r.Header.AddTrusted([]byte("X-Forwarded-Proto"), []byte("https"))
	if n := testing.AllocsPerRun(100, func() { r.TrustProxies(trusted) }); n != 0 {
		t.Errorf("TrustProxies: %v allocations, want 0", n)
	}
	if r.ClientAddr() != netip.MustParseAddrPort("192.0.2.7:0") {
		t.Errorf("ClientAddr = %v", r.ClientAddr())
	}
}

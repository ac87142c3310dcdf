package server

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/wiretest"
)

func proxyV2(src, dst netip.AddrPort) string {
	b := append([]byte(nil), proxyV2Sig...)
	if src.Addr().Is4() {
		b = append(b, 0x21, 0x11, 0, 12)
		s, d := src.Addr().As4(), dst.Addr().As4()
		b = append(append(b, s[:]...), d[:]...)
	} else {
		b = append(b, 0x21, 0x21, 0, 36)
		s, d := src.Addr().As16(), dst.Addr().As16()
		b = append(append(b, s[:]...), d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return string(binary.BigEndian.AppendUint16(b, dst.Port()))
}

func TestParseProxyHeader(t *testing.T) {
	v2 := proxyV2(netip.MustParseAddrPort("192.0.2.1:56324"), netip.MustParseAddrPort("198.51.100.1:443"))
	v2six := proxyV2(netip.MustParseAddrPort("[2001:db8::1]:1000"), netip.MustParseAddrPort("[2001:db8::2]:443"))
	tests := []struct {
		name, raw string
		n         int
		src       string // "" when the header names no address
		wantErr   bool
	}{
		{"v1_tcp4", "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\nGET", 45, "192.0.2.1:56324", false},
		{"v1_tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 1000 443\r\n", 45, "[2001:db8::1]:1000", false},
		{"v1_unknown", "PROXY UNKNOWN\r\n", 15, "", false},
		{"v1_partial", "PROXY TCP4 192.0.2.1", 0, "", false},
		{"v2_tcp4", v2 + "GET", 28, "192.0.2.1:56324", false},
		{"v2_tcp6", v2six, 52, "[2001:db8::1]:1000", false},
		{"v2_partial", v2[:20], 0, "", false},
		{"v2_local", string(proxyV2Sig) + "\x20\x00\x00\x00", 16, "", false},
		{"sig_partial", "\r\n\r\n", 0, "", false},
		{"missing", "GET / HTTP/1.1\r\n", 0, "", true},
		{"v1_mixed_families", "PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n", 0, "", true},
		{"v1_bad_port", "PROXY TCP4 192.0.2.1 192.0.2.2 65536 1\r\n", 0, "", true},
		{"v1_too_long", "PROXY TCP4 " + strings.Repeat("1", 120), 0, "", true},
		{"v1_extra_field", "PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n", 0, "", true},
		{"v2_bad_version", string(proxyV2Sig) + "\x31\x11\x00\x0c" + strings.Repeat("\x00", 12), 0, "", true},
		{"v2_short_addresses", string(proxyV2Sig) + "\x21\x11\x00\x04\x00\x00\x00\x00", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, src, _, ok, err := parseProxyHeader([]byte(tt.raw))
			if (err != nil) != tt.wantErr || n != tt.n {
				t.Fatalf("got n %d, err %v; want n %d, error %v", n, err, tt.n, tt.wantErr)
			}
			got := ""
			if ok {
				got = src.String()
			}
			if got != tt.src {
				t.Errorf("got source %q, want %q", got, tt.src)
			}
		})
	}
}

var remoteEcho = web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
	w.WriteString(r.RemoteAddr.String() + " " + r.LocalAddr.String())
})

func TestProxyProtocolListener(t *testing.T) {
	_, addr := startServer(t, Config{Handler: remoteEcho, ProxyProtocol: true, HeadTimeout: time.Second})
	req := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	for _, tt := range []struct{ name, header, want string }{
		{"v1", "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n", "192.0.2.1:56324 198.51.100.1:443"},
		{"v2", proxyV2(netip.MustParseAddrPort("[2001:db8::1]:1000"), netip.MustParseAddrPort("[2001:db8::2]:443")), "[2001:db8::1]:1000 [2001:db8::2]:443"},
		{"unknown", "PROXY UNKNOWN\r\n", "127.0.0.1:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := wiretest.Dial(t, addr)
			defer c.Close()
			c.Send(tt.header + req)
			if r := c.Read("GET"); r.Status != 200 || !strings.HasPrefix(string(r.Body), tt.want) {
				t.Errorf("got %d %q, want %q", r.Status, r.Body, tt.want)
			}
			// The header is the connection's, once: the next request is plain.
			c.Send(req)
			if r := c.Read("GET"); !strings.HasPrefix(string(r.Body), tt.want) {
				t.Errorf("second request: got %q", r.Body)
			}
		})
	}
	t.Run("split_header", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		defer c.Close()
		c.Send("PROXY TCP4 192.0.2.9 ")
		time.Sleep(50 * time.Millisecond)
		c.Send("198.51.100.1 1 2\r\n" + req)
		if r := c.Read("GET"); !strings.HasPrefix(string(r.Body), "192.0.2.9:1 ") {
			t.Errorf("got %q", r.Body)
		}
	})
	t.Run("missing", func(t *testing.T) {
		c := wiretest.Dial(t, addr)
		defer c.Close()
		c.Send(req)
		c.ExpectEOF()
	})
}

func TestProxyProtocolUntrusted(t *testing.T) {
	_, addr := startServer(t, Config{Handler: remoteEcho, ProxyProtocol: true,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send("PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Read("GET"); !strings.HasPrefix(string(r.Body), "127.0.0.1:") {
		t.Errorf("got %q: the header of an untrusted peer was believed", r.Body)
	}
}

func TestProxyProtocolBeforeTLS(t *testing.T) {
	_, addr, ctc := startTLS(t, Config{Handler: remoteEcho, ProxyProtocol: true})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n"))
	tc := tls.Client(nc, ctc)
	c := wiretest.NewConn(t, tc)
	c.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Read("GET"); !strings.HasPrefix(string(r.Body), "192.0.2.1:56324") {
		t.Errorf("got %d %q", r.Status, r.Body)
	}
}

// pipeListener hands out in-memory connections, which have no file
// descriptor to peek at.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// TestProxyProtocolWithoutDescriptor: on a connection nave cannot peek
// at, the header is read byte by byte and what follows it is not lost.
func TestProxyProtocolWithoutDescriptor(t *testing.T) {
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	serveOn(t, Config{Handler: remoteEcho, ProxyProtocol: true}, ln)
	client, srv := net.Pipe()
	ln.conns <- srv
	c := wiretest.NewConn(t, client)
	defer c.Close()
	c.Send("PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if r := c.Read("GET"); !strings.HasPrefix(string(r.Body), "192.0.2.1:56324 ") {
		t.Errorf("got %d %q", r.Status, r.Body)
	}
}

package proxy

import (
	"bytes"
	"io"
	"net"
	"testing"

	"nave/internal/web"
)

var fixed14 = web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteString("Hello, world!\n")
})

// roundTripper sends one fixed request over a kept-alive connection and
// reads a response of the length the first one had, allocating nothing.
type roundTripper struct {
	nc  net.Conn
	req []byte
	buf []byte
	n   int
}

func newRoundTripper(t testing.TB, addr, req string) *roundTripper {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	rt := &roundTripper{nc: nc, req: []byte(req), buf: make([]byte, 64<<10)}
	nc.Write(rt.req)
	for {
		m, err := nc.Read(rt.buf[rt.n:])
		rt.n += m
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.Index(rt.buf[:rt.n], []byte("\r\n\r\n")); i >= 0 && rt.n >= i+4+14 {
			break
		}
	}
	if !bytes.HasPrefix(rt.buf, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Fatalf("got %q", rt.buf[:rt.n])
	}
	return rt
}

func (rt *roundTripper) do() error {
	if _, err := rt.nc.Write(rt.req); err != nil {
		return err
	}
	_, err := io.ReadFull(rt.nc, rt.buf[:rt.n])
	return err
}

// TestProxiedRequestAllocatesNothing runs client, nave with the proxy and
// the upstream nave in this process: once warm, a proxied request
// allocates nothing anywhere.
func TestProxiedRequestAllocatesNothing(t *testing.T) {
	if allocs := proxiedAllocs(t, Config{}); allocs > 0 {
		t.Errorf("got %v allocations per proxied request, want 0", allocs)
	}
}

// TestH2CProxiedRequestAllocations: through an h2c upstream a proxied
// request allocates at most its stream, the stream's body buffer and a
// timer for the wait when the answer has not come yet: the request's
// fields are built in reused memory, and the response's are decoded into
// a closed stream's buffers.
func TestH2CProxiedRequestAllocations(t *testing.T) {
	if allocs := proxiedAllocs(t, Config{H2C: true}); allocs > 3 {
		t.Errorf("got %v allocations per request through h2c, want at most 3", allocs)
	}
}

// proxiedAllocs is the allocations of one warm request through a proxy
// of cfg (its Servers: an upstream nave in this process), client and
// upstream counted too.
func proxiedAllocs(t *testing.T, cfg Config) float64 {
	t.Helper()
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts need a build without -race")
	}
	cfg.Servers = servers(serve(t, fixed14))
	_, addr := newProxy(t, cfg)
	rt := newRoundTripper(t, addr, "GET /hello HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n")
	for range 100 {
		if err := rt.do(); err != nil {
			t.Fatal(err)
		}
	}
	return testing.AllocsPerRun(1000, func() {
		if err := rt.do(); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkProxy14B(b *testing.B)    { benchProxy(b, Config{}) }
func BenchmarkProxy14BH2C(b *testing.B) { benchProxy(b, Config{H2C: true}) }

func benchProxy(b *testing.B, cfg Config) {
	cfg.Servers = servers(serve(b, fixed14))
	_, addr := newProxy(b, cfg)
	rt := newRoundTripper(b, addr, "GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if err := rt.do(); err != nil {
			b.Fatal(err)
		}
	}
}

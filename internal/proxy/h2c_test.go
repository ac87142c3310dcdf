package proxy

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"nave/internal/web"
)

// h2cEcho says how a request came: its protocol, Host, forwarding fields
// and target; with /N, N bytes follow, and a trailer.
var h2cEcho = web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
	if string(r.Method) == "POST" {
		sized.Serve(w, r)
		return
	}
	if n, err := strconv.Atoi(string(r.Path[1:])); err == nil {
		w.Trailer().Set("X-Sum", "done")
		w.Write(bytes.Repeat([]byte("x"), n))
		return
	}
	fmt.Fprintf(w, "%s host=%s xff=%s via=%s target=%s?%s cookie=%s", r.Proto, r.Authority, r.Header.Get("X-Forwarded-For"),
		r.Header.Get("Via"), r.Path, r.Query, r.Header.Get("Cookie"))
})

// TestH2CUpstream: to an upstream marked h2c (nave itself, which takes
// h2c on any cleartext listener), requests go as HTTP/2 streams with the
// fields they would have over HTTP/1.1; 40 clients at once share one
// upstream connection; bodies of megabytes go both ways, with trailers.
func TestH2CUpstream(t *testing.T) {
	up, conns := serveCounting(t, h2cEcho)
	_, addr := newProxy(t, Config{Servers: servers(up), H2C: true})

	r := get(t, addr, "GET /p?q=1 HTTP/1.1\r\nHost: shop.test\r\nCookie: a=1\r\nConnection: keep-alive\r\n\r\n", "GET")
	if want := "HTTP/2.0 host=shop.test xff=127.0.0.1 via=1.1 nave target=/p?q=1 cookie=a=1"; r.Status != 200 || string(r.Body) != want {
		t.Errorf("got %d %q, want %q", r.Status, r.Body, want)
	}

	body := bytes.Repeat([]byte("0123456789"), 300_000)
	sum := sha256.Sum256(body)
	r = get(t, addr, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+string(body), "POST")
	if want := fmt.Sprintf("%d %x", len(body), sum); string(r.Body) != want {
		t.Errorf("POST: got %d %q, want %q", r.Status, r.Body, want)
	}
	r = get(t, addr, "GET /3000000 HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n", "GET")
	if len(r.Body) != 3000000 || string(r.Trailer.Get("X-Sum")) != "done" {
		t.Errorf("a 3 MB body: %d bytes, trailer %q", len(r.Body), r.Trailer.Get("X-Sum"))
	}

	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
			resp, err := c.Get("http://" + addr + "/c" + strconv.Itoa(i))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("request %d: %d", i, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if n := conns.Load(); n != 1 {
		t.Errorf("the upstream got %d connections, want 1: the requests share it", n)
	}
}

// TestH2CUpstreamFails: an h2c upstream that is not there is a 502, and a
// second server takes the request.
func TestH2CUpstreamFails(t *testing.T) {
	up := serve(t, h2cEcho)
	_, addr := newProxy(t, Config{Servers: servers(closedAddr(t)), H2C: true})
	if r := get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET"); r.Status != 502 {
		t.Errorf("got %d, want 502", r.Status)
	}
	_, addr = newProxy(t, Config{Servers: servers(closedAddr(t), up), H2C: true, MaxFails: Off})
	for range 4 {
		if r := get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET"); r.Status != 200 || !strings.HasPrefix(string(r.Body), "HTTP/2.0 ") {
			t.Errorf("with a second server: %d %q", r.Status, r.Body)
		}
	}
	if _, err := New(Config{Servers: servers(up), H2C: true, ProxyProtocol: 2}); err == nil {
		t.Error("h2c with the PROXY protocol: no error")
	}
}

package proxy

import (
	"sync/atomic"
	"testing"
	"time"

	"nave/internal/web"
)

func TestActiveHealth(t *testing.T) {
	var sick atomic.Bool
	var hits [2]atomic.Int32
	mk := func(i int) string {
		return serve(t, web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
			if string(r.Path) == "/healthz" {
				if i == 0 && sick.Load() {
					web.Error(w, 503, "sick")
					return
				}
				w.WriteString("ok")
				return
			}
			hits[i].Add(1)
			w.WriteString("hello")
		}))
	}
	a, b := mk(0), mk(1)
	p, addr := newProxy(t, Config{Servers: servers(a, b), SlowStart: Off,
		Health: Health{Path: "/healthz", Interval: 20 * time.Millisecond, Rise: 2, Fall: 2}})
	waitFor(t, "both healthy", func() bool { return !p.servers[0].unhealthy.Load() })
	sick.Store(true)
	waitFor(t, "server 0 out", func() bool { return p.servers[0].unhealthy.Load() })
	before := hits[0].Load()
	for range 10 {
		if r := get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET"); r.Status != 200 {
			t.Fatalf("got %d", r.Status)
		}
	}
	if n := hits[0].Load() - before; n != 0 {
		t.Errorf("the unhealthy server got %d requests", n)
	}
	sick.Store(false)
	waitFor(t, "server 0 back", func() bool { return !p.servers[0].unhealthy.Load() })
	for range 10 {
		get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
	}
	if hits[0].Load() == before {
		t.Error("the server that came back got no request")
	}
}

func TestPassiveHealthTakesServerOut(t *testing.T) {
	var hits atomic.Int32
	good := serve(t, web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		hits.Add(1)
		w.WriteString("ok")
	}))
	bad := closedAddr(t)
	p, addr := newProxy(t, Config{Servers: servers(bad, good), MaxFails: 1, FailTimeout: time.Hour})
	for range 6 {
		if r := get(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET"); r.Status != 200 {
			t.Fatalf("got %d", r.Status)
		}
	}
	if p.servers[0].available(time.Now().UnixNano()) {
		t.Error("the refusing server is still in")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

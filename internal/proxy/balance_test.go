package proxy

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"nave/internal/web"
)

func testServers(weights ...int) []*server {
	var s []*server
	for i, w := range weights {
		s = append(s, &server{addr: fmt.Sprintf("10.0.0.%d:80", i+1), weight: w})
	}
	return s
}

func TestSmoothOrder(t *testing.T) {
	s := testServers(5, 1, 1)
	got := fmt.Sprint(smoothOrder(s))
	if want := "[0 0 1 0 2 0 0]"; got != want {
		t.Errorf("got %s, want %s (nginx's a a b a c a a)", got, want)
	}
}

func TestRoundRobinWeights(t *testing.T) {
	s := testServers(3, 1)
	b := newBalancer(s, RoundRobin, "", 0)
	var n [2]int
	for seq := range uint64(400) {
		n[b.pick(&web.Request{}, 0, seq, 0)]++
	}
	if n != [2]int{300, 100} {
		t.Errorf("got %v, want [300 100]", n)
	}
	s[0].downUntil.Store(time.Now().Add(time.Hour).UnixNano())
	if i := b.pick(&web.Request{}, 0, 0, time.Now().UnixNano()); i != 1 {
		t.Errorf("with server 0 down: got %d, want 1", i)
	}
	if i := b.pick(&web.Request{}, bit(1), 0, time.Now().UnixNano()); i != 0 {
		t.Errorf("with 1 tried and 0 down: got %d, want 0 (any beats none)", i)
	}
	if i := b.pick(&web.Request{}, bit(0)|bit(1), 0, 0); i != -1 {
		t.Errorf("with both tried: got %d, want -1", i)
	}
}

func TestLeastConn(t *testing.T) {
	s := testServers(1, 1, 2)
	b := newBalancer(s, LeastConn, "", 0)
	s[0].inflight.Store(1)
	s[1].inflight.Store(0)
	s[2].inflight.Store(1) // (1+1)/2 = 1, as server 1's (0+1)/1
	for seq := range uint64(4) {
		if i := b.pick(&web.Request{}, 0, seq, 0); i == 0 {
			t.Errorf("seq %d: picked the busiest server", seq)
		}
	}
	s[1].inflight.Store(5)
	if i := b.pick(&web.Request{}, 0, 0, 0); i != 2 {
		t.Errorf("got %d, want 2", i)
	}
}

func TestRandom2PrefersIdle(t *testing.T) {
	s := testServers(1, 1, 1)
	b := newBalancer(s, Random2, "", 0)
	s[0].inflight.Store(100)
	n := 0
	for range 1000 {
		if b.pick(&web.Request{}, 0, 0, 0) == 0 {
			n++
		}
	}
	// Server 0 wins only when both draws are it (then the second is skipped).
	if n > 50 {
		t.Errorf("the busy server was picked %d times in 1000", n)
	}
}

func TestHashConsistent(t *testing.T) {
	s := testServers(1, 1, 1, 1)
	b := newBalancer(s, Hash, "", 0)
	req := func(i int) *web.Request {
		return &web.Request{RemoteAddr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)}), 1234)}
	}
	first := make([]int, 1000)
	counts := make([]int, 4)
	for i := range first {
		first[i] = b.pick(req(i), 0, uint64(i), 0)
		counts[first[i]]++
		if again := b.pick(req(i), 0, uint64(i+7), 0); again != first[i] {
			t.Fatalf("client %d: got %d then %d", i, first[i], again)
		}
	}
	for i, c := range counts {
		if c < 150 || c > 350 {
			t.Errorf("server %d got %d of 1000 clients, want about 250", i, c)
		}
	}
	// Server 2 goes down: only its clients move.
	s[2].downUntil.Store(time.Now().Add(time.Hour).UnixNano())
	now := time.Now().UnixNano()
	for i := range first {
		got := b.pick(req(i), 0, 0, now)
		if first[i] != 2 && got != first[i] {
			t.Fatalf("client %d moved from %d to %d though its server is up", i, first[i], got)
		}
		if got == 2 {
			t.Fatalf("client %d still on the down server", i)
		}
	}
}

func TestHashHeaderAndCookie(t *testing.T) {
	s := testServers(1, 1, 1, 1, 1, 1, 1, 1)
	for _, key := range []string{"header:X-User", "cookie:sid"} {
		b := newBalancer(s, Hash, key, 0)
		seen := map[int]bool{}
		for i := range 64 {
			r := &web.Request{}
			v := fmt.Sprintf("user%d", i)
			r.Header.Add("X-User", v)
			r.Header.Add("Cookie", "a=1; sid="+v+"; b=2")
			got := b.pick(r, 0, 0, 0)
			seen[got] = true
			if again := b.pick(r, 0, 99, 0); again != got {
				t.Errorf("%s: %s went to %d then %d", key, v, got, again)
			}
		}
		if len(seen) < 4 {
			t.Errorf("%s: 64 keys went to %d servers only", key, len(seen))
		}
	}
	if v := cookieValue([]byte("a=1; sid=xyz;b=2"), "sid"); string(v) != "xyz" {
		t.Errorf("cookieValue: got %q", v)
	}
	if v := cookieValue([]byte("xsid=1"), "sid"); v != nil {
		t.Errorf("cookieValue: got %q, want nil", v)
	}
}

func TestSlowStartShare(t *testing.T) {
	s := &server{weight: 1}
	now := time.Now().UnixNano()
	s.upSince.Store(now)
	if f := s.share(now+int64(5*time.Second), 10*time.Second); f < 0.49 || f > 0.51 {
		t.Errorf("halfway: got share %v, want 0.5", f)
	}
	if f := s.share(now+int64(11*time.Second), 10*time.Second); f != 1 {
		t.Errorf("after: got share %v, want 1", f)
	}
	if f := s.share(now, 10*time.Second); f != 0.1 {
		t.Errorf("at once: got share %v, want the floor 0.1", f)
	}
}

func TestPassiveFailures(t *testing.T) {
	s := &server{weight: 1}
	now := time.Now().UnixNano()
	if s.failed(now, 3, time.Second) || s.failed(now+1, 3, time.Second) {
		t.Fatal("down before 3 failures")
	}
	if !s.failed(now+2, 3, time.Second) {
		t.Fatal("not down after 3 failures")
	}
	if s.available(now+3) || !s.available(now+2+int64(time.Second)) {
		t.Error("want out for the fail timeout, then back")
	}
	// Failures spread wider than the window do not add up.
	s = &server{weight: 1}
	for i := range 5 {
		if s.failed(now+int64(i)*int64(2*time.Second), 3, time.Second) {
			t.Fatalf("failure %d, 2 s apart, took the server out", i)
		}
	}
}

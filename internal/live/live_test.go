package live

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

type tag string

func (g tag) Serve(w *web.ResponseWriter, r *web.Request) { w.WriteString(string(g)) }

func serve(t testing.TB, h web.Handler) (int, string) {
	var rec webtest.Recorder
	r := &web.Request{Method: []byte("GET"), Path: []byte("/")}
	h.Serve(rec.Begin(r), r)
	if err := rec.End(); err != nil {
		t.Fatal(err)
	}
	return rec.Status, rec.Body.String()
}

func TestHandlerSwap(t *testing.T) {
	var h Handler
	if status, _ := serve(t, &h); status != 503 {
		t.Errorf("before Store: got %d, want 503", status)
	}
	h.Store(tag("a"))
	if _, body := serve(t, &h); body != "a" {
		t.Errorf("got %q, want a", body)
	}
	h.Store(tag("b"))
	if _, body := serve(t, &h); body != "b" {
		t.Errorf("after the swap: got %q, want b", body)
	}
	if h.Requests() != 3 {
		t.Errorf("requests: got %d, want 3", h.Requests())
	}
}

// TestAllocatesNothing: the swap and an app's guard cost a request no
// allocation.
func TestAllocatesNothing(t *testing.T) {
	var h Handler
	h.Store(NewGuard(web.HandlerFunc(func(*web.ResponseWriter, *web.Request) {})))
	r := &web.Request{}
	if n := testing.AllocsPerRun(100, func() { h.Serve(nil, r) }); n != 0 {
		t.Errorf("got %v allocations, want 0", n)
	}
}

func TestSet(t *testing.T) {
	var s Set[*string]
	builds := 0
	mk := func(v string) func() (*string, error) {
		return func() (*string, error) { builds++; return &v, nil }
	}
	tx := s.Begin()
	a, _, _ := tx.Use("a", 1, mk("a1"))
	b, _, _ := tx.Use("b", []string{"x"}, mk("b1"))
	if again, reused, _ := tx.Use("a", 1, mk("a?")); again != a || !reused {
		t.Error("a key used twice in one Tx was built twice")
	}
	if retired := tx.Commit(); len(retired) != 0 {
		t.Errorf("first generation retired %v", retired)
	}

	tx = s.Begin()
	a2, reused, _ := tx.Use("a", 1, mk("a2"))
	b2, _, _ := tx.Use("b", []string{"y"}, mk("b2"))
	if a2 != a || !reused {
		t.Error("an unchanged spec was rebuilt")
	}
	if b2 == b || *b2 != "b2" {
		t.Error("a changed spec was reused")
	}
	retired := tx.Commit()
	if len(retired) != 1 || retired[0] != b {
		t.Errorf("retired %v, want b1", retired)
	}

	// A failed generation leaves the Set as it was.
	tx = s.Begin()
	tx.Use("c", 1, mk("c"))
	if _, _, err := tx.Use("d", 1, func() (*string, error) { return nil, errors.New("no") }); err == nil {
		t.Fatal("build error lost")
	}
	if built := tx.Abort(); len(built) != 1 || *built[0] != "c" {
		t.Errorf("abort: got %v", built)
	}
	if got := s.All(); len(got) != 2 || got["a"] != a || got["b"] != b2 {
		t.Errorf("after the abort: %v", got)
	}
	if builds != 4 {
		t.Errorf("builds: got %d, want 4", builds)
	}
}

// block is a handler that holds a request until released.
type block struct {
	in      chan struct{}
	release chan struct{}
}

func (b *block) Serve(w *web.ResponseWriter, r *web.Request) {
	b.in <- struct{}{}
	<-b.release
	w.WriteString("old")
}

func TestGuardRetireWaits(t *testing.T) {
	b := &block{in: make(chan struct{}), release: make(chan struct{})}
	g := NewGuard(b)
	done := make(chan string)
	go func() { _, body := serve(t, g); done <- body }()
	<-b.in
	retired := make(chan error)
	go func() { retired <- g.Retire(context.Background(), tag("new")) }()
	select {
	case <-retired:
		t.Fatal("Retire returned with a request inside")
	case <-time.After(50 * time.Millisecond):
	}
	if _, body := serve(t, g); body != "new" {
		t.Errorf("a request after Retire: got %q, want the successor's", body)
	}
	close(b.release)
	if body := <-done; body != "old" {
		t.Errorf("the request inside: got %q", body)
	}
	if err := <-retired; err != nil {
		t.Error(err)
	}
	g2 := NewGuard(tag("x"))
	g2.Retire(context.Background(), nil)
	if status, _ := serve(t, g2); status != 503 {
		t.Errorf("retired without successor: got %d, want 503", status)
	}
}

// TestGuardRace: requests racing a Retire either finish inside or go to
// the successor; none is inside after Retire returns.
func TestGuardRace(t *testing.T) {
	for range 50 {
		var inside sync.WaitGroup
		var after bool
		var mu sync.Mutex
		g := NewGuard(web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
			mu.Lock()
			if after {
				t.Error("a request entered the guarded handler after Retire returned")
			}
			mu.Unlock()
		}))
		for range 4 {
			inside.Add(1)
			go func() {
				defer inside.Done()
				for range 100 {
					serve(t, g)
				}
			}()
		}
		g.Retire(context.Background(), tag("next"))
		mu.Lock()
		after = true
		mu.Unlock()
		inside.Wait()
	}
}

package live

import (
	"sync/atomic"

	"nave/internal/web"
)

// Handler serves each request with the handler last given to Store. A
// connection holds the Handler, never what it points to, so a request
// after a Store sees the new handler and a request in flight finishes on
// the one it started with. The zero Handler answers 503 until Store.
type Handler struct {
	cur      atomic.Pointer[target]
	requests atomic.Uint64
}

// target boxes the interface, so that one atomic pointer holds it.
type target struct{ h web.Handler }

// Store makes h the handler of requests from now on.
func (l *Handler) Store(h web.Handler) { l.cur.Store(&target{h}) }

// Load is the current handler, nil before the first Store.
func (l *Handler) Load() web.Handler {
	if t := l.cur.Load(); t != nil {
		return t.h
	}
	return nil
}

// Requests is how many requests the Handler has taken.
func (l *Handler) Requests() uint64 { return l.requests.Load() }

// Serve hands r to the current handler.
func (l *Handler) Serve(w *web.ResponseWriter, r *web.Request) {
	l.requests.Add(1)
	t := l.cur.Load()
	if t == nil {
		web.Error(w, 503, "starting")
		return
	}
	t.h.Serve(w, r)
}

package live

import (
	"context"
	"sync/atomic"
	"time"

	"nave/internal/web"
)

// Guard counts the requests inside a handler, so that the handler's
// resources (an app's workers) are stopped only once the last request
// that reached it has finished, and none reaches it afterwards.
//
// A request adds itself, then checks whether the Guard was retired; Retire
// marks it, then waits for the count to fall to zero. Go's atomics are
// sequentially consistent, so either the request saw the mark (it goes
// to the successor, or gets 503 when there is none) or Retire sees its
// count and waits for it.
type Guard struct {
	next     web.Handler
	inside   atomic.Int64
	retired  atomic.Bool
	fallback atomic.Pointer[target] // where requests go once retired; nil: 503
}

// NewGuard guards h.
func NewGuard(h web.Handler) *Guard { return &Guard{next: h} }

// Serve passes r to the guarded handler, or to the successor once retired.
func (g *Guard) Serve(w *web.ResponseWriter, r *web.Request) {
	g.inside.Add(1)
	if g.retired.Load() {
		g.inside.Add(-1)
		if t := g.fallback.Load(); t != nil {
			t.h.Serve(w, r)
			return
		}
		web.Error(w, 503, "this app was removed by a reload")
		return
	}
	defer g.inside.Add(-1)
	g.next.Serve(w, r)
}

// Retire sends later requests to successor (nil: they get 503) and waits
// until no request is inside, or ctx ends.
func (g *Guard) Retire(ctx context.Context, successor web.Handler) error {
	if successor != nil {
		g.fallback.Store(&target{successor})
	}
	g.retired.Store(true)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for g.inside.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// Inside is how many requests are in the guarded handler.
func (g *Guard) Inside() int64 { return g.inside.Load() }

package cli

import (
	"fmt"
	"maps"
	"slices"

	"nave/internal/health"
	"nave/internal/web"
)

// newHealth is the readiness of nave's listeners, answered at /livez and
// /readyz on the admin and metrics endpoints. The first config's apps have
// started before its listeners serve, so "started" covers their workers.
func (b *built) newHealth() *health.Health {
	return health.New(
		health.Check{Name: "listeners", Err: b.listenersAccepting},
		health.Check{Name: "certificates", Err: b.certificatesLoaded},
	)
}

// serving is the listeners of the config being served, for the probes,
// which must not wait for b.mu: an apply holds it while apps start.
func (b *built) serving() []*listener {
	if p := b.live.Load(); p != nil {
		return *p
	}
	return nil
}

// publishServing records the listeners of the config now served. b.mu is
// held.
func (b *built) publishServing() {
	ls := b.listeners.All()
	list := make([]*listener, 0, len(ls))
	for _, name := range slices.Sorted(maps.Keys(ls)) {
		list = append(list, ls[name])
	}
	b.live.Store(&list)
}

// listenersAccepting fails when a listener's accept loop has ended.
func (b *built) listenersAccepting() error {
	for _, l := range b.serving() {
		select {
		case <-l.served:
			return fmt.Errorf("listener %s stopped accepting", l.name)
		default:
		}
	}
	return nil
}

// certificatesLoaded fails while an HTTPS listener has no certificate (an
// ACME one not yet issued).
func (b *built) certificatesLoaded() error {
	for _, l := range b.serving() {
		if l.tls != nil && len(l.tls.store.Names()) == 0 {
			return fmt.Errorf("listener %s has no certificate yet", l.name)
		}
	}
	return nil
}

// probes serves /livez and /readyz before the endpoint's own handler.
type probes struct {
	h    *health.Health
	next web.Handler
}

func (p probes) Serve(w *web.ResponseWriter, r *web.Request) {
	if !p.h.Handle(w, r) {
		p.next.Serve(w, r)
	}
}

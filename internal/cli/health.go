package cli

import (
	"fmt"
	"maps"
	"slices"

	"nave/internal/health"
	"nave/internal/web"
)

// newHealth is the readiness of nave's listeners, certificates and apps,
// answered at /livez and /readyz on the admin and metrics endpoints.
func (b *built) newHealth() *health.Health {
	return health.New(
		health.Check{Name: "listeners", Err: b.listenersAccepting},
		health.Check{Name: "certificates", Err: b.certificatesLoaded},
		health.Check{Name: "apps", Err: b.appsServing},
	)
}

// inForce is what the config being served runs, as the probes see it:
// its listeners and its apps, each by name.
type inForce struct {
	listeners []*listener
	apps      []*app
}

// serving is what the config being served runs, for the probes, which
// must not wait for b.mu: an apply holds it while apps start.
func (b *built) serving() inForce {
	if p := b.live.Load(); p != nil {
		return *p
	}
	return inForce{}
}

// publishServing records what the config now served runs: the apps its
// commit swapped in (started before it, so a replaced app's new workers
// are ready as it becomes the one in force) and its listeners. b.mu is
// held.
func (b *built) publishServing() {
	ls, as := b.listeners.All(), b.apps.All()
	f := inForce{listeners: make([]*listener, 0, len(ls)), apps: make([]*app, 0, len(as))}
	for _, name := range slices.Sorted(maps.Keys(ls)) {
		f.listeners = append(f.listeners, ls[name])
	}
	for _, name := range slices.Sorted(maps.Keys(as)) {
		f.apps = append(f.apps, as[name])
	}
	b.live.Store(&f)
}

// listenersAccepting fails when a listener's accept loop has ended.
func (b *built) listenersAccepting() error {
	for _, l := range b.serving().listeners {
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
	for _, l := range b.serving().listeners {
		if l.tls != nil && len(l.tls.store.Names()) == 0 {
			return fmt.Errorf("listener %s has no certificate yet", l.name)
		}
	}
	return nil
}

// appsServing fails while an app of the config in force has no worker
// taking requests: every one has died and no replacement is ready yet
// (one whose code no longer imports is retried with back-off, and fails
// it for as long as that lasts). An app with several workers passes while
// one of them serves, the others restarting. Neither a reload (SIGHUP,
// the admin API's restart: new workers first, the old ones serving until
// they are ready) nor a config change that replaces an app (its new pool
// is ready before it is in force) ever fails it. InService takes the
// pool's lock, which no apply holds, for a count of its slots.
func (b *built) appsServing() error {
	for _, a := range b.serving().apps {
		if a.pool.InService() == 0 {
			return fmt.Errorf("app %q has no worker ready to take requests", a.name)
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

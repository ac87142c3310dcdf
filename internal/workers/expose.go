package workers

import "nave/internal/metrics"

// Exposition is the per-app metric families, registered once
// in a registry; Add exposes an app's Meter under its name, the app
// label. docs/observability.md lists them. Every figure is read from the
// Meter at scrape time, so exposing costs the requests nothing.
type Exposition struct {
	slots     *metrics.FuncVec
	workers   *metrics.FuncVec
	busy      *metrics.FuncVec
	idle      *metrics.FuncVec
	queued    *metrics.FuncVec
	inFlight  *metrics.FuncVec
	served    *metrics.FuncVec
	abandoned *metrics.FuncVec
	restarts  *metrics.FuncVec
	queueWait *metrics.HistogramVec
}

// restartCauses are the causes nave_app_worker_restarts_total counts
// by; a stop is not a restart.
var restartCauses = []Cause{CauseCrash, CauseTimeout, CauseRecycle, CauseReload}

// workerStates are nave_app_workers' state label values.
var workerStates = []string{"starting", "idle", "busy"}

// NewExposition registers the per-app families in reg. Call it once per
// registry.
func NewExposition(reg *metrics.Registry) *Exposition {
	return &Exposition{
		slots:     reg.GaugeFuncVec("nave_app_worker_slots", "Worker processes the app is configured to run (summed over its old and new pools while a reload replaces them).", "app"),
		workers:   reg.GaugeFuncVec("nave_app_workers", "Worker processes by state: starting (spawned, not yet serving), idle (serving, holding no request), busy (holding at least one request; for ASGI, one in flight is busy; a retiring worker finishing its requests is busy).", "app", "state"),
		busy:      reg.CounterFuncVec("nave_app_worker_busy_seconds_total", "Worker-seconds spent busy: its rate is the average number of busy workers.", "app"),
		idle:      reg.CounterFuncVec("nave_app_worker_idle_seconds_total", "Worker-seconds spent idle, in service and holding no request: its rate is the average number of idle workers.", "app"),
		queued:    reg.GaugeFuncVec("nave_app_requests_queued", "Requests waiting in nave for a worker (the backlog; past its size nave answers 503).", "app"),
		inFlight:  reg.GaugeFuncVec("nave_app_requests_in_flight", "Requests a worker holds: taken and not yet answered.", "app"),
		served:    reg.CounterFuncVec("nave_app_requests_served_total", "Requests the app's workers answered.", "app"),
		abandoned: reg.CounterFuncVec("nave_app_requests_abandoned_total", "Requests taken out of the queue because their client left while they waited: no worker ran them.", "app"),
		restarts:  reg.CounterFuncVec("nave_app_worker_restarts_total", "Workers taken out of service and replaced, by reason: crash (exited, or broke the protocol), timeout (stuck past the timeout), recycle (served max_requests), reload (new code).", "app", "reason"),
		queueWait: reg.HistogramVec("nave_app_queue_wait_seconds", "From a request's arrival at nave (its first byte) to a worker taking it: the time spent waiting for a free worker.", nil, "app"),
	}
}

// Add exposes m's figures as app's, replacing the Meter exposed under
// that name before, if any.
func (e *Exposition) Add(app string, m *Meter) {
	e.slots.Set(func() float64 { return float64(m.figures().Slots) }, app)
	for _, st := range workerStates {
		e.workers.Set(func() float64 {
			s := m.figures()
			switch st {
			case "starting":
				return float64(s.Starting)
			case "idle":
				return float64(s.Idle)
			}
			return float64(s.Busy)
		}, app, st)
	}
	e.busy.Set(func() float64 { return m.figures().BusySeconds }, app)
	e.idle.Set(func() float64 { return m.figures().IdleSeconds }, app)
	e.queued.Set(func() float64 { return float64(m.figures().Queued) }, app)
	e.inFlight.Set(func() float64 { return float64(m.figures().InFlight) }, app)
	e.served.Set(func() float64 { return float64(m.served.Load()) }, app)
	e.abandoned.Set(func() float64 { return float64(m.withdrawn.Load()) }, app)
	for _, c := range restartCauses {
		e.restarts.Set(func() float64 { return float64(m.restarts[c].Load()) }, app, c.String())
	}
	e.queueWait.Set(m.queueWait, app)
}

// Remove drops app's series: an app a reload removed.
func (e *Exposition) Remove(app string) {
	for _, v := range []*metrics.FuncVec{e.slots, e.busy, e.idle, e.queued, e.inFlight, e.served, e.abandoned} {
		v.Delete(app)
	}
	for _, st := range workerStates {
		e.workers.Delete(app, st)
	}
	for _, c := range restartCauses {
		e.restarts.Delete(app, c.String())
	}
	e.queueWait.Delete(app)
}

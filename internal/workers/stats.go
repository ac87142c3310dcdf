package workers

// Figures: what a Pool's workers are doing, and what an app's
// Meter counted across the pools that served it.

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"nave/internal/metrics"
)

// Stats are an app's figures at one moment: its workers by state, its
// queue, and what it counted since its Meter was made. A Meter's Snapshot
// and a Pool's Stats return them.
type Stats struct {
	Slots    int // worker slots configured (summed over the pools that serve the app)
	Starting int // workers being started: spawned and not yet in service
	Idle     int // in service, holding no request
	// Busy is the workers in service holding at least one request (for
	// ASGI, whose workers hold many at once, one in flight is busy), and
	// the retiring ones finishing theirs.
	Busy     int
	Queued   int // requests waiting for a worker (the backlog)
	InFlight int // requests a worker holds: taken and not yet answered
	// BusySeconds and IdleSeconds are worker-seconds spent busy and idle,
	// cumulative: their rates are the average busy and idle workers.
	BusySeconds, IdleSeconds float64
	Served                   uint64 // requests workers answered
	// Abandoned counts requests taken out of the queue because their
	// client left while they waited (Pool.Withdraw): no worker ran them.
	Abandoned uint64
	// Restarts counts workers taken out of service, by why: Restarts[CauseCrash]
	// and so on (index 0 and CauseStop stay 0: a stop is not a restart).
	Restarts [NumCauses]uint64
	// QueueWait is how long requests waited: from their arrival at nave
	// (Job.Arrival) to a worker taking them. Its Quantile(0.99) is the
	// 99th percentile since the Meter was made; Sub gives a recent window.
	QueueWait metrics.HistogramSnapshot
	// Workers lists each worker process the pool holds, ready and not
	// yet exited, by id (a Pool's Stats only).
	Workers []WorkerStats
}

// WorkerStats is one worker as the status page lists it.
type WorkerStats struct {
	ID      int
	Pid     int
	State   string    // "starting", "idle", "busy", "retiring" or "stuck"
	Jobs    int       // requests it holds now
	Served  int       // requests it answered
	Started time.Time // when its process became ready
	RSS     int64     // resident memory in bytes (Linux: /proc/PID/statm); 0 where unknown
}

// NumCauses bounds Cause, for arrays indexed by it.
const NumCauses = int(CauseStop) + 1

// Meter keeps an app's figures across the pools that serve it in turn:
// a reload that changes the app's config starts a new Pool beside the
// old, and both report here, so that the counts go on and the live
// figures add up. Config.Meter hands it to a Pool; a nil Meter in the
// Config gets the Pool one of its own.
//
// A Pool updates it under its own lock, in the dispatch it does anyway:
// one clock read and atomic adds when a worker takes work or goes idle,
// no lock of the Meter's and no allocation. Snapshot, at a reader's pace,
// takes the lock of each Pool attached.
type Meter struct {
	queueWait *metrics.Histogram
	restarts  [NumCauses]atomic.Uint64
	served    atomic.Uint64
	withdrawn atomic.Uint64 // Stats.Abandoned
	busyNanos atomic.Int64  // ended stretches of busy work, summed
	idleNanos atomic.Int64

	mu    sync.Mutex
	pools map[pooled]struct{} // guarded by mu: the pools serving now
}

// pooled is a Pool as its Meter reads it.
type pooled interface {
	addLive(s *Stats, now time.Time, workers bool)
}

// NewMeter returns a Meter with its counts at zero.
func NewMeter() *Meter {
	return &Meter{queueWait: metrics.NewHistogram(nil), pools: make(map[pooled]struct{})}
}

// QueueWait is the queue-wait histogram, to expose with
// metrics.HistogramVec.Set (its buckets are metrics.LatencyBuckets).
func (m *Meter) QueueWait() *metrics.Histogram { return m.queueWait }

// Snapshot is the app's figures now, summed over its pools, without the
// per-worker list.
func (m *Meter) Snapshot() Stats {
	s := m.figures()
	s.QueueWait = m.queueWait.Snapshot()
	return s
}

// figures is Snapshot without the queue wait, which allocates: what the
// exposition reads at each scrape.
func (m *Meter) figures() Stats {
	s := m.counted()
	now := time.Now()
	m.mu.Lock()
	for p := range m.pools {
		p.addLive(&s, now, false)
	}
	m.mu.Unlock()
	return s
}

// counted is what the Meter has counted, without the live figures and
// the queue wait.
func (m *Meter) counted() Stats {
	s := Stats{
		BusySeconds: time.Duration(m.busyNanos.Load()).Seconds(),
		IdleSeconds: time.Duration(m.idleNanos.Load()).Seconds(),
		Served:      m.served.Load(),
		Abandoned:   m.withdrawn.Load(),
	}
	for i := range s.Restarts {
		s.Restarts[i] = m.restarts[i].Load()
	}
	return s
}

func (m *Meter) attach(p pooled) {
	m.mu.Lock()
	m.pools[p] = struct{}{}
	m.mu.Unlock()
}

func (m *Meter) detach(p pooled) {
	m.mu.Lock()
	delete(m.pools, p)
	m.mu.Unlock()
}

// Stats is this Pool's figures now, with the per-worker list; the counts
// are its Meter's, which may be shared with the app's other pools.
func (p *Pool[J, W]) Stats() Stats {
	s := p.meter.counted()
	s.QueueWait = p.meter.queueWait.Snapshot()
	p.addLive(&s, time.Now(), true)
	for i := range s.Workers {
		s.Workers[i].RSS = rss(s.Workers[i].Pid) // outside the lock: a file read each
	}
	return s
}

// InService is the number of workers in their slots, taking requests,
// idle or busy: what a readiness probe asks of an app. A worker starting,
// retiring, stuck or dead is not counted; a reload's or a recycle's new
// worker takes its slot from the old one at once, so that neither leaves
// a slot empty, while a worker that died leaves its slot empty until its
// replacement is ready. It takes the pool's lock for a count of the
// slots, not the worker list Stats builds.
func (p *Pool[J, W]) InService() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for i := range p.slots {
		if p.slots[i].m != nil {
			n++
		}
	}
	return n
}

// addLive adds the pool's live figures to s: its workers by state, its
// queue, and the busy and idle time of the stretches under way.
func (p *Pool[J, W]) addLive(s *Stats, now time.Time, workers bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.Slots += len(p.slots)
	s.Starting += p.starting
	s.Queued += p.queue.len()
	for _, m := range p.all {
		s.InFlight += m.jobs
		state := m.state.String()
		switch {
		case m.state == stateStarting:
			s.Starting++
		case m.phase == phaseIdle:
			s.Idle++
			s.IdleSeconds += now.Sub(m.since).Seconds()
			state = "idle"
		case m.phase == phaseBusy:
			s.Busy++
			s.BusySeconds += now.Sub(m.since).Seconds()
			state = "busy"
		}
		if workers {
			s.Workers = append(s.Workers, WorkerStats{ID: m.id, Pid: m.proc.Pid(), State: state, Jobs: m.jobs, Served: m.served, Started: m.started})
		}
	}
	if workers {
		slices.SortFunc(s.Workers, func(a, b WorkerStats) int { return a.ID - b.ID })
	}
}

// phase is a worker's part in the busy and idle worker-seconds.
type phase uint8

const (
	phaseOut  phase = iota // not in service (starting, retired with nothing to do, stuck, dead)
	phaseIdle              // in service, holding no job
	phaseBusy              // holding jobs
)

// setPhase ends m's stretch in its phase at now, adding it to the Meter,
// and begins one in ph. mu held.
func (p *Pool[J, W]) setPhase(m *member[J, W], ph phase, now time.Time) {
	if m.phase == ph {
		return
	}
	switch d := int64(now.Sub(m.since)); m.phase {
	case phaseIdle:
		p.meter.idleNanos.Add(d)
	case phaseBusy:
		p.meter.busyNanos.Add(d)
	}
	m.phase, m.since = ph, now
}

// restPhase is the phase a worker with no jobs goes to: idle while in
// its slot, out once retiring. mu held.
func restPhase(st state) phase {
	if st == stateActive {
		return phaseIdle
	}
	return phaseOut
}

func (s state) String() string {
	switch s {
	case stateStarting:
		return "starting"
	case stateActive:
		return "active"
	case stateRetiring:
		return "retiring"
	case stateStuck:
		return "stuck"
	}
	return "dead"
}

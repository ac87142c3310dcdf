package workers

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"time"
)

// Defaults for Config.
const (
	DefaultStartTimeout = 60 * time.Second
	DefaultBacklog      = 1024
	// DefaultRetireGrace is how long a retired worker has to exit.
	DefaultRetireGrace = 10 * time.Second
	// DefaultStuckGrace bounds how long a stuck worker lives while its
	// replacement starts.
	DefaultStuckGrace = 10 * time.Second
	// DefaultBackoffMin and DefaultBackoffMax pace a slot whose workers
	// keep failing: 100ms doubling up to 10s.
	DefaultBackoffMin = 100 * time.Millisecond
	DefaultBackoffMax = 10 * time.Second
)

// Errors Submit, Reload and Stop return.
var (
	ErrBacklogFull = errors.New("workers: every worker is busy and the backlog is full")
	ErrStopped     = errors.New("workers: the pool is stopped")
)

// Config configures a Pool. Start is required; each other zero field means
// its default, or none.
type Config[J Job, W Worker[J]] struct {
	// Start starts one worker's process, with id for its logs, and returns
	// at once: the Pool waits for its Ready within StartTimeout.
	Start        func(id int) (W, error)
	Workers      int           // slots; 0 means 1
	StartTimeout time.Duration // 0 means DefaultStartTimeout
	// Timeout bounds a job's wait in the backlog (it then fails with
	// RefusedWaited) and how long a worker holding jobs may make no
	// progress: it is then stuck, its jobs are detached, Stuck is called,
	// and it is replaced. 0: no limit.
	Timeout time.Duration
	// MaxJobs recycles a worker after that many jobs, plus a random jitter
	// of up to an eighth, so that workers do not recycle together. 0:
	// never.
	MaxJobs int
	Backlog int // jobs that may wait for a worker; 0 means DefaultBacklog
	// Concurrency is the most jobs a worker holds at once; 0 means 1. A
	// new job goes to the least loaded worker below it.
	Concurrency int
	// Batch: a worker takes work only when it holds none, and then its
	// share of the backlog at once (up to Concurrency jobs and BatchBytes
	// of Job.Size, but at least one job): for workers that run their jobs
	// one after the other.
	Batch      bool
	BatchBytes int // 0: no bound
	// ImportExit is the exit code by which a worker says the app failed to
	// import, UsageExit the one by which it says it cannot run at all;
	// after either, its last line of output says why. 0: none.
	ImportExit, UsageExit int
	App                   string // named in a StartError
	// Stuck, if set, is called for a stuck worker once its jobs are
	// detached (to log its stack, say), before it is killed.
	Stuck       func(w W)
	Backoff     Backoff       // zero means DefaultBackoffMin and Max
	RetireGrace time.Duration // 0 means DefaultRetireGrace
	StuckGrace  time.Duration // 0 means DefaultStuckGrace
	Logger      *slog.Logger
	// Meter counts the pool's figures, with those of the app's other
	// pools (the one a reload replaces); nil gets the pool one of its own.
	Meter *Meter
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// slot is a place for one active worker.
type slot[J Job, W Worker[J]] struct {
	m        *member[J, W] // the active worker; nil while one starts
	spawning bool          // a start is under way for this slot
	failures int           // consecutive failed starts or early deaths
}

// Pool supervises a gateway's workers and dispatches jobs to them. It
// knows nothing of what the workers run or speak.
//
// Jobs wait in one bounded queue. One mutex, mu, guards the slots, the
// members' records and the queue; the workers' goroutines (one per
// worker, awaiting its end; one per slot being filled; the deadline
// watch) take it for each event.
type Pool[J Job, W Worker[J]] struct {
	cfg         Config[J, W]
	log         *slog.Logger
	workers     int
	concurrency int
	stopped     chan struct{} // closed when Stop finished
	meter       *Meter
	reload      sync.Mutex // one Reload at a time

	mu       sync.Mutex
	slots    []slot[J, W]        // guarded by mu
	all      map[W]*member[J, W] // guarded by mu: every worker from ready to reaped
	queue    queue[J]            // guarded by mu
	again    []J                 // guarded by mu: scratch for Worker.Detach
	gen      int                 // guarded by mu: the code generation new workers load
	nextID   int                 // guarded by mu
	starting int                 // guarded by mu: spawns under way, before their worker is ready
	started  bool                // guarded by mu
	stopping bool                // guarded by mu
	killed   bool                // guarded by mu: Stop's wait ended; jobs left fail
	allGone  chan struct{}       // guarded by mu: closed when all is empty while stopping
}

// NewPool returns a Pool for cfg; Start starts its workers.
func NewPool[J Job, W Worker[J]](cfg Config[J, W]) *Pool[J, W] {
	p := &Pool[J, W]{
		cfg:         cfg,
		log:         cfg.Logger,
		workers:     max(cfg.Workers, 1),
		concurrency: max(cfg.Concurrency, 1),
		stopped:     make(chan struct{}),
		all:         make(map[W]*member[J, W]),
		meter:       cfg.Meter,
	}
	if p.meter == nil {
		p.meter = NewMeter()
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.cfg.StartTimeout = orDefault(cfg.StartTimeout, DefaultStartTimeout)
	p.cfg.Backoff = orDefault(cfg.Backoff, Backoff{Min: DefaultBackoffMin, Max: DefaultBackoffMax})
	p.cfg.RetireGrace = orDefault(cfg.RetireGrace, DefaultRetireGrace)
	p.cfg.StuckGrace = orDefault(cfg.StuckGrace, DefaultStuckGrace)
	p.slots = make([]slot[J, W], p.workers)
	p.queue.init(orDefault(cfg.Backlog, DefaultBacklog))
	return p
}

// Meter is the Meter the pool counts in: Config.Meter, or its own.
func (p *Pool[J, W]) Meter() *Meter { return p.meter }

// Workers is the number of slots.
func (p *Pool[J, W]) Workers() int { return p.workers }

// Start starts the workers and returns when all are ready. If one fails,
// it stops the others and returns its *StartError: at start there is no
// retry, since an app that cannot import will not import on a second try.
func (p *Pool[J, W]) Start() error {
	p.meter.attach(p)
	ms, err := p.spawnAll(0)
	if err != nil {
		p.meter.detach(p)
		return err
	}
	p.mu.Lock()
	p.started = true
	for _, m := range ms {
		p.install(m)
	}
	p.mu.Unlock()
	go p.watch()
	return nil
}

// Reload starts a new generation of workers, one per slot; once all are
// ready they replace the old ones, which finish the jobs they hold and
// exit. If a new worker fails to start (the code on disk does not
// import), the old generation keeps serving and Reload returns the
// *StartError.
func (p *Pool[J, W]) Reload() error {
	p.reload.Lock()
	defer p.reload.Unlock()
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		return ErrStopped
	}
	gen := p.gen + 1
	p.mu.Unlock()
	ms, err := p.spawnAll(gen)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.gen = gen
	for _, m := range ms {
		p.install(m)
	}
	p.feedIdle()
	p.mu.Unlock()
	return nil
}

// Stop refuses new jobs, lets the queued and running ones finish, and
// retires the workers; when ctx ends first it kills them, and jobs still
// waiting fail with RefusedStopped. A second Stop waits for the first.
func (p *Pool[J, W]) Stop(ctx context.Context) error {
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		<-p.stopped
		return nil
	}
	p.stopping = true
	gone := make(chan struct{})
	p.allGone = gone
	if len(p.all) == 0 {
		close(gone)
		p.allGone = nil
	}
	if p.queue.len() == 0 {
		for _, m := range p.all {
			if m.state == stateActive && m.jobs == 0 {
				p.retire(m, CauseStop)
			}
		}
	}
	p.mu.Unlock()
	var err error
	select {
	case <-gone:
	case <-ctx.Done():
		err = ctx.Err()
		p.mu.Lock()
		p.killed = true
		p.refuseQueued(RefusedStopped)
		for _, m := range p.all {
			m.proc.Kill()
		}
		p.mu.Unlock()
		<-gone
	}
	p.meter.detach(p)
	close(p.stopped)
	return err
}

// Kill stops at once: every worker is killed.
func (p *Pool[J, W]) Kill() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.Stop(ctx)
}

// WorkerCount is a gateway's configured number of workers: n, or one per
// CPU when n is 0 (or less), as gunicorn's and uvicorn's users expect of
// a server that owns the machine. The CPUs are those nave may use: the
// ones its affinity allows, and no more than its cgroup's CPU quota
// rounded up (a container's limit), so a pod limited to 2 CPUs on a
// 64-core node starts 2 workers, not 64.
func WorkerCount(n int) int {
	if n > 0 {
		return n
	}
	n = runtime.NumCPU()
	if q, ok := cpuQuota(); ok {
		n = min(n, max(1, int(math.Ceil(q))))
	}
	return n
}

// RequestTimeout is a gateway's configured timeout: def when t is 0,
// none (0) when t is negative, else t.
func RequestTimeout(t, def time.Duration) time.Duration {
	switch {
	case t < 0:
		return 0
	case t == 0:
		return def
	}
	return t
}

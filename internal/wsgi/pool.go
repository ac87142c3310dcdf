package wsgi

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"
)

// Defaults for Config.
const (
	DefaultPython       = "python3"
	DefaultStartTimeout = 60 * time.Second
	DefaultTimeout      = 30 * time.Second // as gunicorn's
	DefaultBacklog      = 1024
)

const (
	// retireGrace is how long a retired worker has to exit after nave shut
	// its socket; then it is killed.
	retireGrace = 10 * time.Second
	// stuckGrace bounds how long a stuck worker lives while its
	// replacement starts.
	stuckGrace = 10 * time.Second
)

// Errors Submit returns.
var (
	ErrBacklogFull = errors.New("wsgi: every worker is busy and the backlog is full")
	ErrStopped     = errors.New("wsgi: the pool is stopped")
)

// Config configures a Pool. Its zero value runs "application" from the
// module named by App with python3; each zero field means its default.
type Config struct {
	App          string        // MODULE:CALLABLE
	Python       string        // the interpreter; "" means DefaultPython
	Dir          string        // the workers' working directory, first on sys.path; "" means nave's
	Workers      int           // 0 means one per CPU
	StartTimeout time.Duration // for a worker to import the app and say READY
	// Timeout bounds one request in a worker (504, traceback logged, worker
	// replaced) and the wait in the backlog (503). Negative: no limit.
	Timeout time.Duration
	// MaxRequests recycles a worker after that many requests, plus a random
	// jitter of up to an eighth, so that workers do not recycle together.
	// 0: never.
	MaxRequests int
	Backlog     int    // requests that may wait for a worker; beyond, 503
	TempDir     string // spooled bodies and replies; "" means os.TempDir()
	Logger      *slog.Logger
}

func (c *Config) python() string {
	if c.Python == "" {
		return DefaultPython
	}
	return c.Python
}

func (c *Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.NumCPU()
}

func (c *Config) startTimeout() time.Duration {
	if c.StartTimeout > 0 {
		return c.StartTimeout
	}
	return DefaultStartTimeout
}

func (c *Config) timeout() time.Duration {
	switch {
	case c.Timeout < 0:
		return 0
	case c.Timeout == 0:
		return DefaultTimeout
	}
	return c.Timeout
}

func (c *Config) backlog() int {
	if c.Backlog > 0 {
		return c.Backlog
	}
	return DefaultBacklog
}

// slot is a place for one active worker.
type slot struct {
	w        *worker // the active worker; nil while one starts
	spawning bool    // a start is under way for this slot
	failures int     // consecutive failed starts or early deaths
}

// Pool supervises the workers and dispatches requests to them.
//
// Requests wait in one bounded queue. A worker takes a batch from it when
// it is free, all the queued requests up to maxBatch (shared fairly when
// there are several workers), and gets them in one write; it answers them
// in order. While a batch is out, new requests pile up in the queue, so
// the busier the pool, the larger the batches.
type Pool struct {
	cfg     Config
	log     *slog.Logger
	stopped chan struct{} // closed when Stop finished
	reload  sync.Mutex    // one Reload at a time

	mu         sync.Mutex
	slots      []slot               // guarded by mu
	all        map[*worker]struct{} // guarded by mu: every live process
	queue      callQueue            // guarded by mu
	gen        int                  // guarded by mu: the code generation new workers load
	nextWorker int                  // guarded by mu
	stopping   bool                 // guarded by mu
	started    bool                 // guarded by mu
	python     string               // guarded by mu: the version workers reported
	allGone    chan struct{}        // guarded by mu: closed when all is empty while stopping
}

// New returns a Pool for cfg; Start starts its workers. cfg is copied.
func New(cfg Config) *Pool {
	p := &Pool{cfg: cfg, log: cfg.Logger, stopped: make(chan struct{}), all: make(map[*worker]struct{})}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.slots = make([]slot, cfg.workers())
	p.queue.init(cfg.backlog())
	return p
}

// Start starts the workers and returns when all are ready. If one fails,
// it stops the others and returns its *StartError: at start nave does not
// retry, since an app that cannot import will not import on a second try.
func (p *Pool) Start() error {
	ws, err := p.spawnAll(0)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.started = true
	for _, w := range ws {
		p.install(w)
	}
	p.mu.Unlock()
	go p.watch()
	return nil
}

// Python is the version of Python the workers run, once started.
func (p *Pool) Python() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.python
}

// Workers is the number of worker slots.
func (p *Pool) Workers() int { return len(p.slots) }

// Reload starts a new generation of workers with the app's code as it now
// is on disk; once all are ready they replace the old ones, which finish
// the requests they have and exit. If a new worker fails to start, the
// old ones stay and Reload returns the *StartError.
func (p *Pool) Reload() error {
	p.reload.Lock()
	defer p.reload.Unlock()
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		return ErrStopped
	}
	gen := p.gen + 1
	p.mu.Unlock()
	ws, err := p.spawnAll(gen)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.gen = gen
	for _, w := range ws {
		p.install(w)
	}
	p.feedIdle()
	p.mu.Unlock()
	return nil
}

// Stop refuses new requests, lets the queued and running ones finish, and
// stops the workers; when ctx ends first it kills them, and requests still
// waiting get 503.
func (p *Pool) Stop(ctx context.Context) error {
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
	for w := range p.all {
		if w.state == stateActive && len(w.batch) == 0 && p.queue.len() == 0 {
			p.retire(w)
		}
	}
	p.mu.Unlock()
	var err error
	select {
	case <-gone:
	case <-ctx.Done():
		err = ctx.Err()
		p.mu.Lock()
		for p.queue.len() > 0 {
			c := p.queue.popFront()
			c.fail(outcomeStopped, "stopped")
			c.release()
		}
		for w := range p.all {
			w.kill()
		}
		p.mu.Unlock()
		<-gone
	}
	close(p.stopped)
	return err
}

// Kill stops at once: every worker is killed.
func (p *Pool) Kill() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.Stop(ctx)
}

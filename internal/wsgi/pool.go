package wsgi

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"nave/internal/workers"
)

// Defaults for Config.
const (
	DefaultPython       = "python3"
	DefaultStartTimeout = workers.DefaultStartTimeout
	DefaultTimeout      = 30 * time.Second // as gunicorn's
	DefaultBacklog      = workers.DefaultBacklog
)

// Errors Submit returns.
var (
	ErrBacklogFull = errors.New("wsgi: every worker is busy and the backlog is full")
	ErrStopped     = errors.New("wsgi: the pool is stopped")
)

// StartError is a worker that did not become ready; Import is set when the
// app failed to import (adapter.py exited with its dedicated code).
type StartError = workers.StartError

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
	// Env holds variables (KEY=VALUE) set for the workers on top of
	// nave's own environment; a key given twice takes its last value.
	Env    []string
	Logger *slog.Logger
	// Meter counts the app's figures (workers by state, queue wait,
	// restarts), with those of the app's other pools; nil: one of the
	// pool's own. Stats reads them.
	Meter *workers.Meter
}

// env is the workers' environment: nil (nave's) without Env.
func (c *Config) env() []string {
	if len(c.Env) == 0 {
		return nil
	}
	return append(os.Environ(), c.Env...)
}

func (c *Config) python() string {
	if c.Python == "" {
		return DefaultPython
	}
	return c.Python
}

func (c *Config) workers() int { return workers.WorkerCount(c.Workers) }

func (c *Config) timeout() time.Duration { return workers.RequestTimeout(c.Timeout, DefaultTimeout) }

// Batch bounds: how many requests, and how many bytes of environ and
// inline body, travel to a worker in one write.
const (
	maxBatch      = 64
	maxBatchBytes = 1 << 20
)

// Pool runs the app's worker processes, supervised by a workers.Pool: it
// starts them, restarts, recycles, reloads and stops them, and queues
// requests for them.
//
// A WSGI worker runs its requests one after the other, so it takes work
// as a batch (workers.Config.Batch): when it is free, all the queued
// requests up to maxBatch (shared fairly when there are several workers),
// in one write; it answers them in order. While a batch is out, new
// requests pile up in the queue, so the busier the pool, the larger the
// batches.
type Pool struct {
	cfg Config
	log *slog.Logger
	sup *workers.Pool[*call, *worker]

	mu     sync.Mutex
	python string // guarded by mu: the version the last ready worker reported
}

// New returns a Pool for cfg; Start starts its workers. cfg is copied.
func New(cfg Config) *Pool {
	p := &Pool{cfg: cfg, log: cfg.Logger}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.sup = workers.NewPool(workers.Config[*call, *worker]{
		Start:        p.startWorker,
		Workers:      cfg.workers(),
		StartTimeout: cfg.StartTimeout,
		Timeout:      cfg.timeout(),
		MaxJobs:      cfg.MaxRequests,
		Backlog:      cfg.Backlog,
		Concurrency:  maxBatch,
		Batch:        true,
		BatchBytes:   maxBatchBytes,
		ImportExit:   exitImport,
		UsageExit:    exitUsage,
		App:          cfg.App,
		Stuck:        p.stuck,
		Logger:       p.log,
		Meter:        cfg.Meter,
	})
	return p
}

// Stats is the pool's figures now: its workers by state and each
// worker, its queue, and what its Meter counted.
func (p *Pool) Stats() workers.Stats { return p.sup.Stats() }

// Start starts the workers and returns when all are ready. If one fails,
// it stops the others and returns its *StartError: at start nave does not
// retry, since an app that cannot import will not import on a second try.
func (p *Pool) Start() error { return p.sup.Start() }

// Python is the version of Python the workers run, once started.
func (p *Pool) Python() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.python
}

// Workers is the number of worker slots.
func (p *Pool) Workers() int { return p.sup.Workers() }

// InService is the number of workers in their slots, taking requests:
// none while every worker has died and none could start again.
func (p *Pool) InService() int { return p.sup.InService() }

// Reload starts a new generation of workers with the app's code as it now
// is on disk; once all are ready they replace the old ones, which finish
// the requests they have and exit. If a new worker fails to start, the
// old ones stay and Reload returns the *StartError.
func (p *Pool) Reload() error {
	if err := p.sup.Reload(); err != workers.ErrStopped {
		return err
	}
	return ErrStopped
}

// Stop refuses new requests, lets the queued and running ones finish, and
// stops the workers; when ctx ends first it kills them, and requests still
// waiting get 503.
func (p *Pool) Stop(ctx context.Context) error { return p.sup.Stop(ctx) }

// Kill stops at once: every worker is killed.
func (p *Pool) Kill() { p.sup.Kill() }

// submit queues c for a worker. On success the pool holds a reference to
// c until its reply is complete or it fails.
func (p *Pool) submit(c *call) error {
	c.retain()
	switch err := p.sup.Submit(c); err {
	case nil:
		return nil
	case workers.ErrBacklogFull:
		c.release()
		return ErrBacklogFull
	default:
		c.release()
		return ErrStopped
	}
}

// stuck is called for a worker past the timeout, its request failed with
// 504: it dumps every thread's stack to the log (SIGUSR1, faulthandler,
// even while the app blocks in C code) before the pool kills it.
func (p *Pool) stuck(w *worker) { w.proc.Signal(syscall.SIGUSR1) }

func (p *Pool) setPython(version string) {
	p.mu.Lock()
	p.python = version
	p.mu.Unlock()
}

// withdraw takes c out of the queue if no worker has taken it yet, ending
// it as abandoned; it reports whether it did.
func (p *Pool) withdraw(c *call) bool {
	if !p.sup.Withdraw(c) {
		return false
	}
	c.fail(outcomeGone, "the client left while it waited for a worker")
	c.release() // the pool's reference: it let go of c
	return true
}

// cancel tells the worker running c that its client is gone.
func (p *Pool) cancel(c *call) {
	c.mu.Lock()
	w := c.owner
	c.mu.Unlock()
	if w != nil {
		w.cancel(c)
	}
}

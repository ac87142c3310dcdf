package asgi

import (
	"context"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"nave/internal/workers"
)

// Handler is the web.Handler that runs an ASGI app's HTTP requests in its
// worker processes, supervised by a workers.Pool: many requests in flight
// in each (the Pool's Concurrency is Config.LimitConcurrency), restarts
// with back-off, recycling, reload new-first, drain, and stuck workers
// (a loop that sent nothing, not even its heartbeat, past the timeout)
// replaced.
type Handler struct {
	cfg Config
	log *slog.Logger
	sup *workers.Pool[*call, *worker]

	mu sync.Mutex
	// Guarded by mu.
	live     map[*worker]struct{} // from ready to exit: Stop signals them
	python   string               // what the last ready worker reported
	lifespan string
	adapter  string

	nativeDir string // where native.c was built for the workers; "" if not: set by Start
}

// New returns a Handler for cfg; Start starts its workers.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, log: cfg.Logger, live: make(map[*worker]struct{})}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.sup = workers.NewPool(workers.Config[*call, *worker]{
		Start:        h.startWorker,
		Workers:      cfg.workers(),
		StartTimeout: cfg.startTimeout(),
		Timeout:      cfg.timeout(),
		MaxJobs:      cfg.MaxRequests,
		Backlog:      cfg.Backlog,
		Concurrency:  cfg.limitConcurrency(),
		ImportExit:   exitImport,
		// A lifespan startup that failed is the one-line reason the
		// worker cannot run; bad arguments are rarer, and still say why.
		UsageExit: exitLifespan,
		App:       cfg.App,
		Stuck:     h.stuck,
		Logger:    h.log,
		Meter:     cfg.Meter,
	})
	return h
}

// ready records a worker that said READY, before the Pool learns of it,
// for Stop, Pids, Python and Lifespan.
func (h *Handler) ready(w *worker) {
	h.mu.Lock()
	select {
	case <-w.proc.Exited(): // exited ran, or will find nothing
	default:
		h.live[w] = struct{}{}
	}
	h.python, h.lifespan, h.adapter = w.python, w.lifespan, w.adapter
	h.mu.Unlock()
	h.log.Info("asgi worker ready", "module", h.cfg.App, "worker", w.id, "pid", w.proc.Pid(), "python", w.python,
		"lifespan", w.lifespan, "adapter", w.adapter)
}

// exited lets go of a worker whose process ended.
func (h *Handler) exited(w *worker) {
	h.mu.Lock()
	delete(h.live, w)
	h.mu.Unlock()
}

// Start starts the workers and returns when all are ready. If one fails
// (the app does not import, its lifespan startup fails), it stops the
// others and returns its *StartError, without retrying.
func (h *Handler) Start() error {
	if err := h.buildNative(); err != nil {
		return err
	}
	return h.sup.Start()
}

// Reload starts a new generation of workers with the app's code as it now
// is on disk; once all are ready they replace the old ones, which finish
// their requests, run the lifespan shutdown and exit. If a new worker
// fails to start, the old ones stay and Reload returns the *StartError.
func (h *Handler) Reload() error { return h.sup.Reload() }

// Stats is the handler's figures now: its workers by state and each
// worker, its queue, and what its Meter counted. A worker holding one
// request in flight or more is busy.
func (h *Handler) Stats() workers.Stats { return h.sup.Stats() }

// Workers is the number of worker slots.
func (h *Handler) Workers() int { return h.sup.Workers() }

// InService is the number of workers in their slots, taking requests:
// none while every worker has died and none could start again.
func (h *Handler) InService() int { return h.sup.InService() }

// Pids are the process ids of the workers ready and not yet exited.
func (h *Handler) Pids() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	pids := make([]int, 0, len(h.live))
	for w := range h.live {
		pids = append(pids, w.proc.Pid())
	}
	return pids
}

// Lifespan is what the last ready worker said of the lifespan protocol:
// "on", "off", or "unsupported" (auto, and the app raised on its scope).
func (h *Handler) Lifespan() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lifespan
}

// Adapter is "native" when the last ready worker loaded native.c's
// module, "python" when it runs adapter.py alone.
func (h *Handler) Adapter() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.adapter
}

// Python is the version and loop the last ready worker reported.
func (h *Handler) Python() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.python
}

// Stop refuses new requests, lets those in flight finish, and retires the
// workers, each running its lifespan shutdown. Once ctx is done, the apps
// still running are cancelled (SIGTERM: the adapter cancels their tasks,
// as uvicorn does when its graceful shutdown times out), so that the
// lifespan shutdown still runs; cancelGrace later they are killed.
func (h *Handler) Stop(ctx context.Context) error {
	done := make(chan struct{})
	kill, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		h.mu.Lock()
		for w := range h.live {
			w.proc.Signal(syscall.SIGTERM)
		}
		h.mu.Unlock()
		select {
		case <-time.After(cancelGrace):
			cancel()
		case <-done:
		}
	}()
	err := h.sup.Stop(kill)
	close(done)
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// Kill stops at once: every worker is killed.
func (h *Handler) Kill() { h.sup.Kill() }

// cancelGrace is how long a worker has, once Stop's context is done and
// it was told to cancel the apps still running, before it is killed.
const cancelGrace = 3 * time.Second

// stuck is called for a worker whose loop sent nothing past the timeout,
// its requests failed with 504: it dumps every thread's stack to the log
// (SIGUSR1, faulthandler, even while the loop blocks in C code) before
// the Pool kills it.
func (h *Handler) stuck(w *worker) { w.proc.Signal(syscall.SIGUSR1) }

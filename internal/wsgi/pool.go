package wsgi

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Defaults for Config.
const (
	DefaultPython       = "python3"
	DefaultStartTimeout = 60 * time.Second
	DefaultTimeout      = 30 * time.Second // as gunicorn's
	DefaultBacklog      = 1024
)

// Restart back-off: a slot whose workers keep failing waits longer before
// each new try, from minBackoff doubling up to maxBackoff. A worker that
// answered a request resets it.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
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

// spawnAll starts one worker per slot in parallel, all of generation gen.
func (p *Pool) spawnAll(gen int) ([]*worker, error) {
	ws := make([]*worker, len(p.slots))
	errs := make([]error, len(p.slots))
	var wg sync.WaitGroup
	for i := range ws {
		wg.Go(func() { ws[i], errs[i] = p.spawn(i, gen) })
	}
	wg.Wait()
	var first error
	for _, err := range errs {
		var se *StartError
		if err != nil && (first == nil || errors.As(err, &se) && se.Import) {
			first = err
		}
	}
	if first == nil {
		return ws, nil
	}
	for _, w := range ws {
		if w != nil {
			w.kill()
			p.workerDied(w, errors.New("another worker failed to start"))
		}
	}
	return nil, first
}

// install puts a ready worker in its slot, retiring the one it replaces.
// mu held.
func (p *Pool) install(w *worker) {
	if p.stopping {
		w.kill() // its waitExit reaps it
		return
	}
	if w.state == stateDead {
		// It died between READY and now: its slot needs another.
		if s := &p.slots[w.slot]; s.w == nil {
			s.failures++
			p.startSlot(w.slot)
		}
		return
	}
	p.all[w] = struct{}{}
	p.python = w.python
	s := &p.slots[w.slot]
	switch {
	case w.gen < p.gen:
		// Started for code that a Reload has since replaced.
		w.state = stateActive
		p.retire(w)
		return
	case s.w != nil:
		p.retire(s.w)
	}
	s.w = w
	w.state = stateActive
	if p.cfg.MaxRequests > 0 {
		w.limit = p.cfg.MaxRequests + rand.IntN(p.cfg.MaxRequests/8+1)
	}
	p.feed(w)
}

// retire takes w out of service: it finishes its batch, then nave shuts
// its socket and it exits. mu held.
func (p *Pool) retire(w *worker) {
	if w.state != stateActive {
		return
	}
	w.state = stateRetiring
	if s := &p.slots[w.slot]; s.w == w {
		s.w = nil
	}
	if len(w.batch) == 0 {
		p.shut(w)
	}
}

// shut asks the writer to shut the worker's socket, and bounds the exit.
// mu held.
func (p *Pool) shut(w *worker) {
	w.shut = true
	w.signalWriter()
	time.AfterFunc(retireGrace, w.kill)
}

func (w *worker) signalWriter() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// submit queues c for a worker. The pool holds a reference to c until its
// reply is complete or it fails.
func (p *Pool) submit(c *call) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping || !p.started {
		return ErrStopped
	}
	c.queued = time.Now()
	if p.queue.len() == 0 {
		if w := p.idleWorker(); w != nil {
			c.retain()
			p.assign(w, c)
			w.signalWriter()
			return nil
		}
	}
	if !p.queue.pushBack(c) {
		return ErrBacklogFull
	}
	c.retain()
	return nil
}

func (p *Pool) idleWorker() *worker {
	for i := range p.slots {
		if w := p.slots[i].w; w != nil && w.state == stateActive && len(w.batch) == 0 {
			return w
		}
	}
	return nil
}

// assign adds c to w's batch. mu held.
func (p *Pool) assign(w *worker, c *call) {
	w.nextID++
	if w.nextID == 0 { // 0 is "no request" in the progress page
		w.nextID++
	}
	c.id = w.nextID
	c.mu.Lock()
	c.owner = w
	c.mu.Unlock()
	if len(w.batch) == 0 {
		w.progID, w.progAt = c.id, time.Now()
	}
	w.batch = append(w.batch, c)
}

// feed gives an idle worker its share of the queue. mu held.
func (p *Pool) feed(w *worker) {
	q := p.queue.len()
	if q == 0 || w.state != stateActive || len(w.batch) > 0 {
		return
	}
	active := 0
	for i := range p.slots {
		if p.slots[i].w != nil {
			active++
		}
	}
	n := min(maxBatch, (q+active-1)/max(active, 1))
	bytes := 0
	for i := 0; i < n && p.queue.len() > 0; i++ {
		c := p.queue.peek()
		size := len(c.env) + len(c.body)
		if i > 0 && bytes+size > maxBatchBytes {
			break
		}
		bytes += size
		p.assign(w, p.queue.popFront())
	}
	w.signalWriter()
}

// feedIdle feeds every idle worker. mu held.
func (p *Pool) feedIdle() {
	for i := range p.slots {
		if p.queue.len() == 0 {
			return
		}
		if w := p.slots[i].w; w != nil {
			p.feed(w)
		}
	}
}

// takeWrites hands the writer what it must send: the calls not yet sent
// (retained for it), cancellations, and whether to shut the socket.
func (p *Pool) takeWrites(w *worker, calls []*call, cancels []uint32) ([]*call, []uint32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.state == stateDead || w.state == stateStuck {
		return calls, cancels, false
	}
	for _, c := range w.batch[w.sent:] {
		c.retain()
		calls = append(calls, c)
	}
	w.sent = len(w.batch)
	cancels = append(cancels, w.cancels...)
	w.cancels = w.cancels[:0]
	shut := w.shut && len(w.batch) == 0
	if shut {
		w.shut = false
	}
	return calls, cancels, shut
}

// current returns, retained, the call a frame with this id answers: the
// oldest unanswered one of w's batch. It returns nil when the pool no
// longer listens to w, and an error when the id is not the expected one.
func (p *Pool) current(w *worker, id uint32) (*call, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.state == stateStuck || w.state == stateDead {
		return nil, nil
	}
	if w.done >= w.sent {
		return nil, protocolErrorf("a reply for request %d, none outstanding", id)
	}
	c := w.batch[w.done]
	if c.id != id {
		return nil, protocolErrorf("a reply for request %d, want %d", id, c.id)
	}
	c.retain()
	return c, nil
}

// completed records that w answered c, the head of its batch; at the end
// of the batch w takes the next one.
func (p *Pool) completed(w *worker, c *call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w.state == stateStuck || w.state == stateDead || w.done >= len(w.batch) || w.batch[w.done] != c {
		return
	}
	w.batch[w.done] = nil
	w.done++
	w.served++
	c.release()
	p.slots[w.slot].failures = 0
	if w.done < len(w.batch) {
		return
	}
	w.batch, w.sent, w.done = w.batch[:0], 0, 0
	if w.limit > 0 && w.served >= w.limit && !w.recycling && w.state == stateActive {
		w.recycling = true
		p.log.Info("recycling worker", "worker", w.id, "served", w.served)
		p.startSlot(w.slot)
	}
	switch {
	case w.state == stateRetiring:
		p.shut(w)
	case p.queue.len() > 0:
		p.feed(w)
	case p.stopping:
		p.retire(w)
	}
}

// startSlot starts a worker for slot s in the background, with back-off
// after failures, unless one is starting already. mu held.
func (p *Pool) startSlot(i int) {
	s := &p.slots[i]
	if s.spawning || p.stopping {
		return
	}
	s.spawning = true
	delay := time.Duration(0)
	if s.failures > 0 {
		delay = min(minBackoff<<min(s.failures-1, 20), maxBackoff)
	}
	gen := p.gen
	go p.spawnSlot(i, gen, delay)
}

func (p *Pool) spawnSlot(i, gen int, delay time.Duration) {
	for {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-p.stopped:
				return
			}
		}
		w, err := p.spawn(i, gen)
		p.mu.Lock()
		s := &p.slots[i]
		if err == nil {
			s.spawning = false
			p.install(w)
			p.feedIdle()
			p.mu.Unlock()
			return
		}
		s.failures++
		delay = min(minBackoff<<min(s.failures-1, 20), maxBackoff)
		stopping := p.stopping
		gen = p.gen
		p.mu.Unlock()
		if stopping {
			return
		}
		p.logStartError("a worker failed to start; retrying", err, delay)
	}
}

func (p *Pool) logStartError(msg string, err error, retry time.Duration) {
	attrs := []any{"err", err}
	var se *StartError
	if errors.As(err, &se) && se.Output != "" {
		attrs = append(attrs, "output", se.Output)
	}
	if retry > 0 {
		attrs = append(attrs, "retry_in", retry)
	}
	p.log.Error(msg, attrs...)
}

// workerDied lets go of a worker that exited, closed its socket, broke
// the protocol or could not be written to: its in-flight request fails
// with 502, the requests it had not started go to other workers, and its
// slot gets a new worker. It runs once per worker.
func (p *Pool) workerDied(w *worker, reason error) {
	w.deadOnce.Do(func() {
		close(w.dead)
		w.kill()
		w.conn.Close()
		select {
		case <-w.exited:
		case <-time.After(5 * time.Second):
		}
		p.mu.Lock()
		prev := w.state
		w.state = stateDead
		lost := p.detach(w, outcomeLost, "the worker died")
		w.progress.Close()
		delete(p.all, w)
		s := &p.slots[w.slot]
		if s.w == w {
			s.w = nil
			if w.served == 0 {
				s.failures++
			}
			p.startSlot(w.slot)
		}
		if p.stopping && len(p.all) == 0 && p.allGone != nil {
			close(p.allGone)
			p.allGone = nil
		}
		p.feedIdle()
		p.mu.Unlock()
		status := "running"
		if w.cmd.ProcessState != nil {
			status = w.cmd.ProcessState.String()
		}
		switch {
		case prev == stateActive:
			p.log.Error("worker died", "worker", w.id, "pid", w.pid, "status", status, "reason", reason, "lost_request", lost)
		case prev == stateRetiring || prev == stateStuck:
			p.log.Debug("worker exited", "worker", w.id, "pid", w.pid, "status", status)
		}
	})
}

// detach takes w's unanswered requests away from it: the one it was
// running fails with o; those it had run but whose replies it had not
// sent yet run again elsewhere if their method is safe to repeat (the
// adapter sends other replies at once) and fail otherwise; those it had
// not started go back to the front of the queue. It reports whether a
// request was in flight. mu held.
func (p *Pool) detach(w *worker, o outcome, reason string) (inFlight bool) {
	pending := w.batch[w.done:]
	if len(pending) == 0 {
		w.batch, w.sent, w.done = w.batch[:0], 0, 0
		return false
	}
	running := w.readProgress()
	var again []*call
	for _, c := range pending {
		switch d := int32(c.id - running); {
		case d == 0:
			c.fail(o, reason)
			c.release()
			inFlight = true
		case d < 0 && !c.safe:
			c.fail(outcomeLost, "the worker died before sending the reply")
			c.release()
		default:
			again = append(again, c)
		}
	}
	for i := len(again) - 1; i >= 0; i-- {
		c := again[i]
		c.mu.Lock()
		ok := !c.delivered && c.outcome == outcomePending
		if ok {
			c.owner = nil
		}
		c.mu.Unlock()
		if !ok {
			c.fail(outcomeLost, "the worker died mid-reply")
			c.release()
			continue
		}
		c.queued = time.Now() // its wait for a worker starts again
		p.queue.pushFront(c)
	}
	clear(w.batch)
	w.batch, w.sent, w.done = w.batch[:0], 0, 0
	return inFlight
}

// cancel tells the worker running c that its client is gone.
func (p *Pool) cancel(c *call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.mu.Lock()
	w := c.owner
	c.mu.Unlock()
	if w == nil || w.state == stateDead || w.state == stateStuck {
		return
	}
	w.cancels = append(w.cancels, c.id)
	w.signalWriter()
}

// watch enforces Config.Timeout until Stop.
func (p *Pool) watch() {
	limit := p.cfg.timeout()
	if limit == 0 {
		return
	}
	t := time.NewTicker(min(max(limit/10, 10*time.Millisecond), time.Second))
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			p.checkTimeouts(now, limit)
		case <-p.stopped:
			return
		}
	}
}

// checkTimeouts fails requests that waited in the queue past the limit,
// and replaces workers stuck on one request past it: the request gets a
// 504, the worker dumps its stack to the log (SIGUSR1, faulthandler), a
// new worker starts, and the stuck one is killed once that is ready.
func (p *Pool) checkTimeouts(now time.Time, limit time.Duration) {
	var stuck []*worker
	p.mu.Lock()
	for p.queue.len() > 0 && now.Sub(p.queue.peek().queued) > limit {
		c := p.queue.popFront()
		c.fail(outcomeWaited, "waited for a worker past the timeout")
		c.release()
	}
	for w := range p.all {
		if len(w.batch) == w.done || w.state != stateActive && w.state != stateRetiring {
			continue
		}
		if id := w.readProgress(); id != w.progID {
			w.progID, w.progAt = id, now
			continue
		}
		if now.Sub(w.progAt) <= limit || !w.runs(w.progID) {
			continue
		}
		prev := w.state
		w.state = stateStuck
		p.detach(w, outcomeTimeout, "timed out")
		if s := &p.slots[w.slot]; s.w == w {
			s.w = nil
			if prev == stateActive {
				p.startSlot(w.slot)
			}
		}
		stuck = append(stuck, w)
	}
	p.feedIdle()
	p.mu.Unlock()
	for _, w := range stuck {
		p.log.Error("request timed out; logging the worker's stack and replacing it",
			"worker", w.id, "pid", w.pid, "timeout", limit)
		w.signal(syscall.SIGUSR1)
		go p.killWhenReplaced(w)
	}
}

// runs reports whether the request id is among w's unanswered ones. mu held.
func (w *worker) runs(id uint32) bool {
	for _, c := range w.batch[w.done:] {
		if c.id == id {
			return true
		}
	}
	return false
}

// killWhenReplaced kills a stuck worker once its slot has a new worker, or
// after stuckGrace.
func (p *Pool) killWhenReplaced(w *worker) {
	deadline := time.Now().Add(stuckGrace)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		replaced := p.slots[w.slot].w != nil || p.stopping
		p.mu.Unlock()
		if replaced {
			break
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-w.exited:
			return
		}
	}
	w.kill()
}

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

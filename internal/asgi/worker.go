package asgi

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"nave/internal/web"
	"nave/internal/workers"
)

// adapterSource is the worker's program, run with "python -".
//
//go:embed adapter.py
var adapterSource string

// adapter.py's exit codes: the app failed to import; bad arguments (or
// loop=uvloop without uvloop); its lifespan startup failed.
const (
	exitImport   = 3
	exitUsage    = 4
	exitLifespan = 5 // after a FATAL frame
)

// worker is one Python process running adapter.py, with its socket and
// the calls in flight on it: the unit a supervisor runs N of. Handlers
// append their frames to out; the writer goroutine sends what gathered in
// one write. The reader goroutine hands each reply frame to the call its
// id names. Its death (the process ended, the socket broke, a protocol
// error) fails every call in flight and closes Done; Err says why.
type worker struct {
	cfg      *Config
	log      *slog.Logger
	proc     *workers.Process
	conn     *net.UnixConn
	python   string // "3.11.2 uvloop": what it reported
	lifespan string // "on", "off" or "unsupported", as it reported

	ready chan struct{} // closed when READY came
	wake  chan struct{} // cap 1: out has frames
	gone  chan struct{} // closed by die
	// slots bounds the requests in the app at once (Config.LimitConcurrency):
	// a request takes one before it is sent and gives it back with its
	// terminal frame, so that the rest wait here, not in Python. Nil: no bound.
	slots chan struct{}

	mu sync.Mutex
	// Guarded by mu.
	out    []byte   // frames waiting for the writer
	calls  []*call  // in flight: calls[id-1]; nil where free
	free   []uint32 // ids free for reuse
	gen    uint32   // the sweep's generation: counts its ticks
	err    error    // why the worker is gone; nil while it works
	fatal  string   // FATAL's reason, when it sent one instead of READY
	closed bool     // no more requests: Stop began
}

// StartError is a worker that did not become ready; Output is what it
// printed first (the traceback).
type StartError struct {
	Reason string
	Output string
}

func (e *StartError) Error() string { return "asgi: worker did not start: " + e.Reason }

// startWorker spawns the worker and waits for READY.
func startWorker(cfg *Config, log *slog.Logger) (*worker, error) {
	w := &worker{cfg: cfg, log: log, ready: make(chan struct{}), wake: make(chan struct{}, 1), gone: make(chan struct{})}
	if n := cfg.LimitConcurrency; n > 0 {
		w.slots = make(chan struct{}, n)
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("asgi: socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "asgi-socket")
	theirs := os.NewFile(uintptr(fds[1]), "asgi-socket")
	defer theirs.Close()
	fc, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		return nil, err
	}
	w.conn = fc.(*net.UnixConn)
	var env []string
	if len(cfg.Env) > 0 {
		env = append(os.Environ(), cfg.Env...)
	}
	w.proc, err = workers.Start(workers.Spec{
		ID:         1,
		Path:       cfg.python(),
		Args:       []string{"-", cfg.App, "lifespan=" + cfg.lifespan(), "loop=" + cfg.loop()},
		Dir:        cfg.Dir,
		Env:        env,
		Stdin:      strings.NewReader(adapterSource),
		ExtraFiles: []*os.File{theirs},
		Logger:     log,
	})
	if err != nil {
		w.conn.Close()
		return nil, &StartError{Reason: err.Error()}
	}
	go func() {
		<-w.proc.Exited()
		w.die(fmt.Errorf("asgi: worker ended: %v", w.proc.Err()))
	}()
	go w.readLoop()
	timer := time.NewTimer(cfg.startTimeout())
	defer timer.Stop()
	select {
	case <-w.ready:
		w.proc.Ready()
		go w.writeLoop()
		go w.sweep()
		return w, nil
	case <-w.gone:
	case <-timer.C:
	}
	w.proc.Kill()
	<-w.proc.Exited()
	out := w.proc.EarlyOutput()
	reason := w.proc.Status()
	w.mu.Lock()
	fatal := w.fatal
	w.mu.Unlock()
	switch {
	case fatal != "":
		return nil, &StartError{Reason: fatal, Output: out}
	case w.proc.ExitCode() == exitLifespan && workers.LastLine(out) != "":
		// Its exit can beat its FATAL frame here; its last line says the same.
		return nil, &StartError{Reason: workers.LastLine(out), Output: out}
	case w.proc.ExitCode() == exitImport:
		reason = "cannot import " + cfg.App
	case w.proc.ExitCode() == exitUsage:
		reason = "bad arguments"
	}
	if line := workers.LastLine(out); line != "" {
		reason += ": " + line
	}
	return nil, &StartError{Reason: reason, Output: out}
}

// submit sends c's request, whose first body chunk is c.body; more says
// chunks follow, each when the app asks. It waits first for a
// concurrency slot. On success the worker holds a reference to c until
// the request's terminal frame.
func (w *worker) submit(c *call, r *web.Request, more bool) error {
	if w.slots != nil {
		select {
		case w.slots <- struct{}{}:
		case <-w.gone:
			return w.Err()
		}
	}
	w.mu.Lock()
	if w.err != nil || w.closed {
		err := w.err
		w.mu.Unlock()
		if w.slots != nil {
			<-w.slots
		}
		if err == nil {
			err = errStopped
		}
		return err
	}
	var id uint32
	if n := len(w.free); n > 0 {
		id, w.free = w.free[n-1], w.free[:n-1]
	} else {
		w.calls = append(w.calls, nil)
		id = uint32(len(w.calls))
	}
	c.retain()
	c.id, c.slot, c.gen = id, w.slots != nil, w.gen
	w.calls[id-1] = c
	if c.ws != nil {
		w.out = appendWSConnect(w.out, id, r, c.path, c.path[:c.root], c.ws.subprotocols)
	} else {
		w.out = appendRequest(w.out, id, r, c.path, c.path[:c.root], c.body, more)
	}
	var err error
	if w.cfg.Experiment.NoBatch {
		_, err = w.conn.Write(w.out)
		w.out = w.out[:0]
	}
	w.mu.Unlock()
	if err != nil {
		w.die(fmt.Errorf("asgi: writing to the worker: %w", err))
		return nil // die failed c
	}
	w.signal()
	return nil
}

// sendBody sends the next body chunk the app asked for.
func (w *worker) sendBody(c *call, chunk []byte, end bool) {
	w.mu.Lock()
	if w.err == nil && c.id != 0 {
		w.out = appendBody(w.out, c.id, chunk, end)
	}
	w.mu.Unlock()
	w.signal()
}

// sent tells the app that n more of its response bytes reached the
// client's connection, so that it may send as many more.
func (w *worker) sent(c *call, n int) {
	w.mu.Lock()
	if w.err == nil && c.id != 0 {
		w.out = appendSent(w.out, c.id, n)
	}
	w.mu.Unlock()
	w.signal()
}

// disconnect tells the app that c's client is gone.
func (w *worker) disconnect(c *call) {
	w.mu.Lock()
	if w.err == nil && c.id != 0 {
		w.out = appendFrameHeader(w.out, frameDisconnect, c.id, 0)
	}
	w.mu.Unlock()
	w.signal()
}

// Done is closed when the worker is out of service; Err then says why.
func (w *worker) Done() <-chan struct{} { return w.gone }

// Err is why the worker is gone; nil while it serves.
func (w *worker) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// watchDelay is about how long an app runs before its relay watches for
// the client leaving (between one and two sweeps), so that the app hears
// of it at most that much later. It is well past the queueing of a loaded
// worker (64 connections on one: ~1.5 ms), which a per-request timer of 1
// ms was not: then every request paid for the watch (+25% CPU a request).
const watchDelay = 100 * time.Millisecond

// sweep nudges the calls that have been in flight for a sweep or two, so
// that their relays start watching their clients: one ticker for the
// worker, rather than a timer for each request (which cost the raw hello
// ~1 µs of Go time a request, measured).
func (w *worker) sweep() {
	t := time.NewTicker(watchDelay / 2)
	defer t.Stop()
	var long []*call
	for {
		select {
		case <-t.C:
		case <-w.gone:
			return
		}
		w.mu.Lock()
		w.gen++
		for _, c := range w.calls {
			if c != nil && w.gen-c.gen == 2 {
				c.retain()
				long = append(long, c)
			}
		}
		w.mu.Unlock()
		for i, c := range long {
			c.nudge()
			c.release()
			long[i] = nil
		}
		long = long[:0]
	}
}

var errStopped = errors.New("asgi: stopped")

func (w *worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// writeLoop sends what gathered in out, in one write each time.
func (w *worker) writeLoop() {
	var spare []byte
	for {
		select {
		case <-w.wake:
		case <-w.gone:
			return
		}
		if !w.cfg.Experiment.NoYield {
			// The handler that woke the writer would otherwise run it at
			// once (the scheduler's runnext), before the other
			// connections' handlers that are runnable have appended
			// their requests: a write per request. Yielding once lets
			// them join this batch.
			runtime.Gosched()
		}
		w.mu.Lock()
		buf := w.out
		w.out = spare[:0]
		w.mu.Unlock()
		if len(buf) == 0 {
			spare = buf
			continue
		}
		if _, err := w.conn.Write(buf); err != nil {
			w.die(fmt.Errorf("asgi: writing to the worker: %w", err))
			return
		}
		if cap(buf) > 4<<20 {
			buf = nil
		}
		spare = buf
	}
}

// readLoop reads READY, then hands each reply frame to its call.
func (w *worker) readLoop() {
	fr := &frameReader{conn: w.conn, buf: make([]byte, readBufferSize)}
	f, err := fr.next()
	if err == nil && f.typ == frameFatal {
		w.mu.Lock()
		w.fatal = string(f.payload)
		w.mu.Unlock()
		err = errors.New("asgi: " + string(f.payload))
	} else if err == nil && f.typ != frameReady {
		err = protocolErrorf("first frame of type %d, want READY", f.typ)
	}
	if err != nil {
		w.die(err)
		return
	}
	facts := strings.Split(string(f.payload), "\x00")
	if len(facts) == 4 {
		w.python, w.lifespan = facts[1]+" "+facts[2], facts[3]
	}
	close(w.ready)
	for {
		f, err := fr.next()
		if err == nil {
			err = w.handle(f)
		}
		if err != nil {
			w.die(err)
			return
		}
	}
}

// handle applies one reply frame.
func (w *worker) handle(f frame) error {
	terminal := f.typ == frameEnd || f.typ == frameResponse || f.typ == frameError || f.typ == frameTrailers ||
		f.typ == frameWSEnd
	w.mu.Lock()
	if f.id == 0 || int(f.id) > len(w.calls) || w.calls[f.id-1] == nil {
		w.mu.Unlock()
		return protocolErrorf("frame type %d for request %d, not in flight", f.typ, f.id)
	}
	c := w.calls[f.id-1]
	slot := false
	if terminal {
		w.calls[f.id-1] = nil
		w.free = append(w.free, f.id)
		c.id, slot, c.slot = 0, c.slot, false
	}
	w.mu.Unlock()
	if terminal {
		if slot {
			<-w.slots
		}
		defer c.release()
	}
	switch f.typ {
	case frameStart:
		status, head, err := splitStart(f.payload)
		if err != nil {
			return err
		}
		c.deliverHead(status, head)
		c.wake()
	case frameData, frameEnd:
		c.deliverData(f.payload, f.typ == frameEnd)
	case frameResponse:
		status, head, body, err := splitResponse(f.payload)
		if err != nil {
			return err
		}
		c.deliverHead(status, head)
		c.deliverData(body, true)
	case frameReceive:
		c.askBody()
	case frameEarlyHint:
		c.deliverHint(f.payload)
	case framePathsend:
		c.deliverFile(f.payload)
	case frameTrailers:
		c.deliverTrailer(f.payload)
	case frameError:
		c.fail(string(f.payload))
	default:
		if isWSFrame(f.typ) && c.ws != nil {
			return w.handleWS(c, f)
		}
		return protocolErrorf("unexpected frame type %d", f.typ)
	}
	return nil
}

// die takes the worker out of service: every request in flight fails.
// Safe to call any number of times.
func (w *worker) die(err error) {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return
	}
	w.err = err
	calls := w.calls
	w.calls, w.free = nil, nil
	stopping := w.closed
	w.mu.Unlock()
	if !stopping && isReady(w.ready) {
		w.log.Error("asgi worker gone", "pid", w.proc.Pid(), "err", err, "in_flight", inFlight(calls))
	}
	close(w.gone)
	w.conn.Close()
	w.proc.Kill()
	for _, c := range calls {
		if c != nil {
			w.mu.Lock()
			slot := c.slot
			c.id, c.slot = 0, false
			w.mu.Unlock()
			if slot {
				<-w.slots
			}
			c.fail("the worker is gone")
			c.release()
		}
	}
}

// cancelGrace is how long a worker has, once stop's context is done and
// it was told to cancel the apps still running, before it is killed.
const cancelGrace = 3 * time.Second

func isReady(ready chan struct{}) bool {
	select {
	case <-ready:
		return true
	default:
		return false
	}
}

func inFlight(calls []*call) int {
	n := 0
	for _, c := range calls {
		if c != nil {
			n++
		}
	}
	return n
}

// stop shuts the socket's write side, which the adapter takes as the end:
// it lets the apps running finish, runs the lifespan shutdown and exits.
// Once ctx is done, the apps still running are cancelled (SIGTERM, as
// uvicorn cancels its tasks when its graceful shutdown times out) and the
// worker has cancelGrace more (for the lifespan shutdown) before it is
// killed.
func (w *worker) stop(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	// Whatever the writer has not sent yet goes first.
	for {
		w.mu.Lock()
		empty := len(w.out) == 0
		w.mu.Unlock()
		if empty {
			break
		}
		select {
		case <-w.gone:
		case <-time.After(time.Millisecond):
			continue
		}
		break
	}
	w.conn.CloseWrite()
	select {
	case <-w.proc.Exited():
		return nil
	case <-ctx.Done():
	}
	w.proc.Signal(syscall.SIGTERM)
	select {
	case <-w.proc.Exited():
	case <-time.After(cancelGrace):
		w.proc.Kill()
		<-w.proc.Exited()
	}
	return ctx.Err()
}

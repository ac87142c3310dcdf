package asgi

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"nave/internal/rawio"
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
// the calls in flight on it, supervised as a workers.Worker by the
// Handler's workers.Pool. The Pool assigns calls (Assign); the worker
// appends their frames to out, and the writer goroutine sends what
// gathered in one write. The reader goroutine hands each reply frame to
// the call its id names, and reports a call's terminal frame to the Pool
// (Done). Its end (the process exited, the socket broke, a protocol error)
// closes gone; the Pool then takes its calls back (Detach), failing them.
//
// Lock order: the Pool's lock, then mu (the Pool calls Assign, Detach
// and Retire with its lock held); the worker never calls the Pool with
// mu held.
type worker struct {
	id       int
	h        *Handler
	cfg      *Config
	log      *slog.Logger
	proc     *workers.Process
	conn     *rawio.Conn // the socket, read and written by raw system calls
	python   string      // "3.11.2 uvloop": what it reported; set before ready closes
	lifespan string      // "on", "off" or "unsupported", as it reported; likewise
	adapter  string      // "native" (native.c loaded) or "python"; likewise

	ready chan struct{} // closed when READY came
	wake  chan struct{} // cap 1: out has frames
	gone  chan struct{} // closed by die
	// progress counts the frames the worker sent: it moves while the
	// worker's loop runs (the adapter sends a HEARTBEAT a second while it
	// has requests in flight), and stands still when the loop is blocked.
	progress atomic.Uint64

	mu sync.Mutex
	// Guarded by mu.
	out      []byte   // frames waiting for the writer
	calls    []*call  // in flight: calls[id-1]; nil where free
	free     []uint32 // ids free for reuse
	gen      uint32   // the sweep's generation: counts its ticks
	err      error    // why the worker is gone; nil while it works
	closed   bool     // retired: the writer shuts the socket once out is sent
	detached bool     // the Pool took its calls back: replies are dropped
}

// StartError is a worker that did not become ready: Reason is one line,
// Output what it printed first (the traceback).
type StartError = workers.StartError

// startWorker spawns a worker; the Pool waits for its READY.
func (h *Handler) startWorker(id int) (*worker, error) {
	cfg := &h.cfg
	w := &worker{id: id, h: h, cfg: cfg, log: h.log, ready: make(chan struct{}), wake: make(chan struct{}, 1), gone: make(chan struct{})}
	conn, theirs, err := workers.SocketPair("asgi-socket")
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	if w.conn, err = rawio.New(conn); err != nil {
		conn.Close()
		return nil, err
	}
	var native []string
	if h.nativeDir != "" {
		native = []string{"NAVE_ASGI_NATIVE=" + h.nativeDir}
	}
	env := workerEnv(cfg, native...)
	w.proc, err = workers.Start(workers.Spec{
		ID:         id,
		Path:       cfg.python(),
		Args:       []string{"-", cfg.App, "lifespan=" + cfg.lifespan(), "loop=" + cfg.loop()},
		Dir:        cfg.Dir,
		Env:        env,
		Stdin:      strings.NewReader(adapterSource),
		ExtraFiles: []*os.File{theirs},
		Logger:     h.log,
	})
	if err != nil {
		w.conn.Close()
		return nil, err
	}
	go func() {
		<-w.proc.Exited()
		w.h.exited(w)
		w.die(errExited)
	}()
	go w.readLoop()
	go w.writeLoop()
	return w, nil
}

// Process, Ready: workers.Worker.
func (w *worker) Process() *workers.Process { return w.proc }
func (w *worker) Ready() <-chan struct{}    { return w.ready }

// Progress is the count of frames the worker sent: workers.Worker.
func (w *worker) Progress() uint64 { return w.progress.Load() }

// Assign sends c's request: workers.Worker, called with the Pool's lock
// held, so it does not block (the writer sends the frame). c's fields
// for it (req, more) were set by the handler, which waits for the reply
// meanwhile. The worker takes over the Pool's reference to c until the
// request's terminal frame, or Detach.
func (w *worker) Assign(c *call) {
	w.mu.Lock()
	var id uint32
	if n := len(w.free); n > 0 {
		id, w.free = w.free[n-1], w.free[:n-1]
	} else {
		w.calls = append(w.calls, nil)
		id = uint32(len(w.calls))
	}
	c.id, c.gen, c.unsent = id, w.gen, w.err != nil
	w.calls[id-1] = c
	if w.err == nil {
		if c.ws != nil {
			w.out = appendWSConnect(w.out, id, c.req, c.path, c.path[:c.root], c.ws.subprotocols)
		} else {
			w.out = appendRequest(w.out, id, c.req, c.path, c.path[:c.root], c.body, c.more)
		}
	}
	w.mu.Unlock()
	c.assigned(w)
	w.signal()
}

// Detach takes back the calls in flight: workers.Worker. Those assigned
// once the worker was already gone never reached it and go back to the
// Pool (again) for another worker; the others cannot run elsewhere (the
// app has them) and fail: a stuck worker's with a 504, a dead one's with
// a 500; where the response began, the exchange is aborted. From then on
// the worker's replies are dropped.
func (w *worker) Detach(why workers.Cause, again []*call) []*call {
	w.mu.Lock()
	calls := w.calls
	w.calls, w.free, w.detached = nil, nil, true
	for _, c := range calls {
		if c != nil {
			c.id = 0
		}
	}
	w.mu.Unlock()
	status, reason := 500, "the worker is gone"
	if why == workers.CauseTimeout {
		status, reason = 504, "the app did not answer within the timeout"
	}
	for _, c := range calls {
		switch {
		case c == nil:
		case c.unsent:
			c.unsent = false
			again = append(again, c) // the Pool's reference goes with it
		default:
			c.failWith(status, reason)
			c.release()
		}
	}
	return again
}

// Retire shuts the socket's write side once the frames waiting are sent,
// which the adapter takes as the end: it runs the lifespan shutdown and
// exits. workers.Worker.
func (w *worker) Retire() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.signal()
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
		shut := w.closed
		w.mu.Unlock()
		if len(buf) > 0 {
			if _, err := w.conn.Write(buf); err != nil {
				w.die(fmt.Errorf("asgi: writing to the worker: %w", err))
				return
			}
		}
		if shut {
			// Retired: it holds no request, so nothing more is to be sent.
			w.conn.CloseWrite()
			return
		}
		if cap(buf) > 4<<20 {
			buf = nil
		}
		spare = buf
	}
}

// readLoop reads READY, then hands each reply frame to its call. After
// FATAL (the lifespan startup failed) it stops reading: the adapter
// exits with exitLifespan, its reason its last line, which is how the
// Pool learns of it.
func (w *worker) readLoop() {
	fr := newFrameReader(w.conn)
	f, err := fr.next()
	if err == nil && f.typ == frameFatal {
		return
	}
	if err == nil && f.typ != frameReady {
		err = protocolErrorf("first frame of type %d, want READY", f.typ)
	}
	if err != nil {
		w.end(err)
		return
	}
	facts := strings.Split(string(f.payload), "\x00")
	if len(facts) == 5 {
		w.python, w.lifespan, w.adapter = facts[1]+" "+facts[2], facts[3], facts[4]
	}
	w.h.ready(w)
	close(w.ready)
	go w.sweep()
	for {
		f, err := fr.next()
		if err == nil {
			w.progress.Add(1)
			err = w.handle(f)
		}
		if err != nil {
			w.end(err)
			return
		}
	}
}

// end is the reader's end: a socket the worker closed is it exiting
// (its exit code says why, which a kill now would hide), so it has a
// moment to; any other error breaks it.
func (w *worker) end(err error) {
	if errors.Is(err, io.EOF) {
		select {
		case <-w.proc.Exited():
		case <-time.After(exitGrace):
		}
	}
	w.die(err)
}

// exitGrace is how long a worker that closed its socket has to exit.
const exitGrace = time.Second

// handle applies one reply frame.
func (w *worker) handle(f frame) error {
	if f.typ == frameHeartbeat {
		return nil // it counted as progress
	}
	terminal := f.typ == frameEnd || f.typ == frameResponse || f.typ == frameError || f.typ == frameTrailers ||
		f.typ == frameWSEnd
	w.mu.Lock()
	if w.detached {
		w.mu.Unlock()
		return nil // the Pool took its calls back
	}
	if f.id == 0 || int(f.id) > len(w.calls) || w.calls[f.id-1] == nil {
		w.mu.Unlock()
		return protocolErrorf("frame type %d for request %d, not in flight", f.typ, f.id)
	}
	c := w.calls[f.id-1]
	if terminal {
		w.calls[f.id-1] = nil
		w.free = append(w.free, f.id)
		c.id = 0
	}
	w.mu.Unlock()
	if terminal {
		defer w.h.sup.Done(w)
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

// die takes the worker out of service: its process is killed, and the
// Pool, seeing it end, takes back its calls (Detach). Safe to call any
// number of times.
func (w *worker) die(err error) {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return
	}
	w.err = err
	closing := w.closed
	w.mu.Unlock()
	if err != errExited && !closing {
		// Its exit the Pool logs; this is nave ending it.
		w.log.Error("asgi worker broken", "worker", w.id, "pid", w.proc.Pid(), "err", err)
	}
	close(w.gone)
	w.conn.Close()
	w.proc.Kill()
}

// errExited is the end of a worker whose process ended.
var errExited = errors.New("asgi: the worker exited")

func isReady(ready chan struct{}) bool {
	select {
	case <-ready:
		return true
	default:
		return false
	}
}

package asgi

import (
	"sync"
	"sync/atomic"
	"time"

	"nave/internal/web"
	"nave/internal/workers"
)

// call is one request's trip through the worker: what the handler sent,
// and the reply the worker's reader goroutine hands over.
//
// It is the Pool's job (workers.Job): the handler submits it and waits
// for its reply; the Pool assigns it to a worker, now or once one has
// room, or fails it (Fail) when none took it in time.
//
// Lifetime: refs counts holders: the handler, and the Pool then the
// worker while the request is in flight (from Submit to its terminal
// frame, Detach, or Fail). The last release returns the call to callPool.
type call struct {
	refs atomic.Int32

	// Set by the handler before submit; read-only after.
	path []byte // the decoded path; path[:root] is the decoded mount
	root int
	body []byte // the first body chunk; then the handler's buffer for the next
	req  *web.Request
	more bool // body chunks follow the first, each asked for
	// arrival is req.Start: when the request arrived, for the queue wait.
	arrival time.Time

	// Guarded by the owner's mu.
	id     uint32 // the id in flight, 0 when none
	gen    uint32 // the worker's sweep generation when it was sent
	unsent bool   // assigned to a worker already gone: it may go to another

	notify chan struct{} // cap 1: the reply moved on

	mu sync.Mutex
	// Guarded by mu.
	owner      *worker   // the worker it was assigned to; nil before
	taken      time.Time // when a worker last took it (the access log's queue wait)
	status     int       // from START or RESPONSE; 0 before
	head       []byte    // the app's headers, "name\x00value..."; written once, before headNew
	headNew    bool      // the head came and the handler has not taken it
	hints      []byte    // early hints' Link values, NUL-separated, not taken; handed over whole
	data       []byte    // body bytes the handler has not taken
	file       []byte    // a pathsend's path, not taken; handed over whole
	trailer    []byte    // the trailer fields, with hasTrailer; handed over whole
	hasTrailer bool
	wantBody   bool   // the app waits in receive() for the next chunk
	watchNow   bool   // the app has run long: the relay should watch the client
	ended      bool   // a terminal frame came (or the worker died)
	failed     bool   // ERROR, or the worker died
	failStatus int    // the status an unbegun response gets when failed
	reason     string // why it failed, for the log
	abandoned  bool   // the handler is gone: drop what comes

	spare []byte // the handler's: body bytes taken, swapped with data

	ws *wsState // a WebSocket's; nil for an HTTP request. Set before submit.
}

var callPool = sync.Pool{New: func() any { return &call{notify: make(chan struct{}, 1)} }}

func getCall() *call {
	c := callPool.Get().(*call)
	c.refs.Store(1)
	return c
}

func (c *call) retain() { c.refs.Add(1) }

// maxPooled bounds the buffers a pooled call keeps.
const maxPooled = 64 << 10

func (c *call) release() {
	if c.refs.Add(-1) != 0 {
		return
	}
	c.path, c.root, c.body, c.req, c.more, c.owner = c.path[:0], 0, c.body[:0], nil, false, nil
	c.arrival, c.taken = time.Time{}, time.Time{}
	c.status, c.head, c.headNew, c.data = 0, c.head[:0], false, c.data[:0]
	c.hints, c.file, c.trailer, c.hasTrailer, c.wantBody, c.watchNow = nil, nil, nil, false, false, false
	c.ended, c.failed, c.failStatus, c.reason, c.abandoned = false, false, 0, "", false
	c.spare, c.ws = c.spare[:0], nil
	select {
	case <-c.notify:
	default:
	}
	if cap(c.body) > maxPooled {
		c.body = nil
	}
	if cap(c.data) > maxPooled {
		c.data = nil
	}
	if cap(c.spare) > maxPooled {
		c.spare = nil
	}
	callPool.Put(c)
}

func (c *call) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// deliverHead records a START or RESPONSE head.
func (c *call) deliverHead(status int, head []byte) {
	c.mu.Lock()
	if !c.abandoned {
		c.status, c.head, c.headNew = status, append(c.head[:0], head...), true
	}
	c.mu.Unlock()
}

// deliverData buffers body bytes; end says the reply is complete.
func (c *call) deliverData(p []byte, end bool) {
	c.mu.Lock()
	if !c.abandoned {
		c.data = append(c.data, p...)
	}
	c.ended = c.ended || end
	c.mu.Unlock()
	c.wake()
}

// deliverHint adds an early hint's links.
func (c *call) deliverHint(links []byte) {
	c.mu.Lock()
	if !c.abandoned && len(links) > 0 {
		if len(c.hints) > 0 {
			c.hints = append(c.hints, 0)
		}
		c.hints = append(c.hints, links...)
	}
	c.mu.Unlock()
	c.wake()
}

// deliverFile records a pathsend.
func (c *call) deliverFile(path []byte) {
	c.mu.Lock()
	if !c.abandoned {
		c.file = append([]byte(nil), path...)
	}
	c.mu.Unlock()
	c.wake()
}

// deliverTrailer records the trailer fields; it ends the reply.
func (c *call) deliverTrailer(fields []byte) {
	c.mu.Lock()
	if !c.abandoned {
		c.trailer, c.hasTrailer = append([]byte(nil), fields...), true
	}
	c.ended = true
	c.mu.Unlock()
	c.wake()
}

// askBody records that the app waits for the next body chunk.
func (c *call) askBody() {
	c.mu.Lock()
	c.wantBody = !c.abandoned
	c.mu.Unlock()
	c.wake()
}

// WaitedLong tells the relay that the call has waited long for a worker
// (workers.Waiter): it watches the client as for an app that has run
// long, and a client gone while the call still waits takes it out of the
// queue (relay.giveUp).
func (c *call) WaitedLong() { c.nudge() }

// nudge tells the relay that the app has run long (the worker's sweep).
func (c *call) nudge() {
	c.mu.Lock()
	c.watchNow = true
	c.mu.Unlock()
	c.wake()
}

// fail ends the reply: the app failed (an unbegun response gets a 500).
func (c *call) fail(reason string) { c.failWith(500, reason) }

// failWith ends the reply with status for an unbegun response: the app
// failed, or its worker is gone or stuck.
func (c *call) failWith(status int, reason string) {
	c.mu.Lock()
	if !c.ended {
		c.ended, c.failed, c.failStatus, c.reason = true, true, status, reason
	}
	c.mu.Unlock()
	c.wake()
}

// assigned records the call's worker.
func (c *call) assigned(w *worker) {
	c.mu.Lock()
	c.owner, c.taken = w, time.Now()
	c.mu.Unlock()
}

// takenAt is when a worker last took the call, or zero.
func (c *call) takenAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.taken
}

// worker is the worker the call was assigned to, or nil.
func (c *call) worker() *worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.owner
}

// Fail ends a call no worker took: workers.Job. It releases the Pool's
// reference.
func (c *call) Fail(why workers.Refusal) {
	reason := "no worker was free in time"
	if why == workers.RefusedStopped {
		reason = "the app stopped"
	}
	c.failWith(503, reason)
	c.release()
}

// Size weighs the call for a batch: workers.Job (ASGI workers do not
// take batches).
func (c *call) Size() int { return len(c.body) }

// Arrival is when the request arrived at nave: workers.Job.
func (c *call) Arrival() time.Time { return c.arrival }

// reply is what the handler takes from the call in one step.
type reply struct {
	status     int
	head       []byte // non-nil once, when the head came
	hints      []byte
	data       []byte // body bytes, valid until the next take
	file       []byte
	trailer    []byte
	hasTrailer bool
	wantBody   bool
	ended      bool
	failed     bool
	failStatus int
	reason     string
	started    bool // a head came at some point
}

// What ended a take's wait.
type event uint8

const (
	evReply event = iota // the reply moved on
	evGone               // the client is gone
	evLong               // the app has run long (nudge)
)

// take waits until the reply moved on, gone is closed or the call is
// nudged, and returns what came since the last take.
func (c *call) take(gone <-chan struct{}) (r reply, ev event) {
	for {
		c.mu.Lock()
		if c.headNew || len(c.data) > 0 || c.ended || c.wantBody || c.hints != nil || c.file != nil {
			if c.headNew {
				c.headNew = false
				r.head = c.head
			}
			r.status, r.started = c.status, c.status != 0
			c.spare, c.data = c.data, c.spare[:0]
			r.data = c.spare
			r.hints, r.file, r.trailer, r.hasTrailer = c.hints, c.file, c.trailer, c.hasTrailer
			c.hints, c.file, c.trailer = nil, nil, nil
			r.wantBody, c.wantBody = c.wantBody, false
			r.ended, r.failed, r.failStatus, r.reason = c.ended, c.failed, c.failStatus, c.reason
			c.mu.Unlock()
			return r, evReply
		}
		if c.watchNow {
			c.watchNow = false
			c.mu.Unlock()
			return r, evLong
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-gone:
			return r, evGone
		}
	}
}

// abandon tells the reader to drop the rest of the reply.
func (c *call) abandon() {
	c.mu.Lock()
	c.abandoned = true
	c.data = c.data[:0]
	c.mu.Unlock()
}

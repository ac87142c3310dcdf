package wsgi

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"nave/internal/workers"
)

// outcome is how a call ended. Each maps to one status in the handler.
type outcome uint8

const (
	outcomePending  outcome = iota
	outcomeOK               // END or RESPONSE
	outcomeAppError         // ERROR: 500, or the connection closed mid-body
	outcomeLost             // the worker died or broke the protocol: 502
	outcomeTimeout          // past Config.Timeout: 504
	outcomeWaited           // waited in the backlog past Config.Timeout: 503
	outcomeStopped          // the pool stopped first: 503
	outcomeGone             // its client left while it waited for a worker: 499, to no one
)

// Reply buffering. Body bytes up to memReplyLimit wait in memory; beyond
// that they go to an unlinked temporary file, up to maxSpool, so that the
// worker is free as soon as it has produced the response, however slowly
// the client reads. Past maxSpool the worker waits for the client
// (back-pressure), so one response can use a bounded amount of disk.
const (
	memReplyLimit = 256 << 10
	maxSpool      = 1 << 30
)

// segment is a run of body bytes to relay: in memory (data), or a range of
// a file (f): a worker's file (wsgi.file_wrapper, closed after) or the
// call's spool.
type segment struct {
	data  []byte
	f     *os.File
	off   int64
	n     int64 // -1: to the end of f
	owned bool  // f is the worker's: close it once relayed
}

// call is one request's trip through a worker: what the handler prepared,
// and the reply the worker's reader goroutine buffers for the handler.
//
// Lifetime: refs counts holders: the handler, the pool while the call is
// queued (in the supervisor) or in a worker's batch, and a reader while it delivers a frame.
// The last release resets the call and returns it to callPool.
type call struct {
	refs atomic.Int32

	// Set by the handler before submit; read-only after.
	env      []byte    // the environ blob
	body     []byte    // an inline body
	bodyFile *os.File  // a body spooled to a file, handed to the worker
	safe     bool      // the method may run twice (RFC 9110 §9.2.1)
	arrival  time.Time // when the request arrived at nave, for the queue wait
	spoolDir string
	path     []byte       // the decoded path; scratch for the handler
	hd       responseHead // the parsed head; scratch for the handler

	id uint32 // in its worker's sequence; guarded by that worker's mu

	notify chan struct{} // cap 1: the reply moved on

	mu sync.Mutex
	// Guarded by mu.
	owner     *worker   // the worker whose frames the call accepts; nil while queued
	taken     time.Time // when a worker last took it (the access log's queue wait); zero while queued
	head      []byte    // the raw response head, once it came
	headSeen  bool
	segs      []segment // segs[segPos:] are still to relay
	segPos    int
	fast      []byte // a RESPONSE's body, reused between calls
	memBytes  int
	spool     *os.File
	spoolEnd  int64 // bytes written to the spool
	spoolSent int64 // spool bytes taken by the handler
	outcome   outcome
	reason    string // why it failed, for the log
	abandoned bool   // the handler is gone: drop what comes
	delivered bool   // some reply frame arrived: it cannot be run elsewhere
	// waitedLong: WaitedLong came while queued, and the handler has not
	// heard it yet.
	waitedLong bool
	spoolWait  sync.Cond
}

var callPool = sync.Pool{New: func() any {
	c := &call{notify: make(chan struct{}, 1)}
	c.spoolWait.L = &c.mu
	return c
}}

func getCall() *call {
	c := callPool.Get().(*call)
	c.refs.Store(1)
	return c
}

func (c *call) retain() { c.refs.Add(1) }

// release drops a reference; the last one recycles the call.
func (c *call) release() {
	if c.refs.Add(-1) != 0 {
		return
	}
	c.mu.Lock()
	c.closeSegments()
	if c.bodyFile != nil {
		c.bodyFile.Close()
	}
	c.env, c.body, c.bodyFile, c.safe, c.path, c.arrival = c.env[:0], c.body[:0], nil, false, c.path[:0], time.Time{}
	clear(c.hd.fields)
	c.hd.fields = c.hd.fields[:0]
	c.id = 0
	c.owner, c.head, c.headSeen, c.taken = nil, c.head[:0], false, time.Time{}
	c.segs, c.fast, c.memBytes = c.segs[:0], c.fast[:0], 0
	c.outcome, c.reason, c.abandoned, c.delivered, c.waitedLong = outcomePending, "", false, false, false
	c.mu.Unlock()
	select {
	case <-c.notify:
	default:
	}
	if cap(c.body) > maxPooledBody {
		c.body = nil
	}
	if cap(c.fast) > maxPooledBody {
		c.fast = nil
	}
	callPool.Put(c)
}

// maxPooledBody bounds the buffers a pooled call keeps.
const maxPooledBody = 64 << 10

// closeSegments closes what the handler will not relay. mu held.
func (c *call) closeSegments() {
	for _, s := range c.segs[c.segPos:] {
		if s.owned {
			s.f.Close()
		}
	}
	clear(c.segs)
	c.segs, c.segPos = c.segs[:0], 0
	if c.spool != nil {
		c.spool.Close()
		c.spool, c.spoolEnd, c.spoolSent = nil, 0, 0
	}
}

func (c *call) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// accepts reports whether frames from w still belong here. mu held.
func (c *call) accepts(w *worker) bool {
	return c.owner == w && c.outcome == outcomePending
}

// deliverHead records a START head.
func (c *call) deliverHead(w *worker, head []byte) {
	c.mu.Lock()
	if c.accepts(w) && !c.abandoned {
		c.head = append(c.head[:0], head...)
		c.headSeen, c.delivered = true, true
	}
	c.mu.Unlock()
	c.wake()
}

// deliverResponse records a whole response.
func (c *call) deliverResponse(w *worker, head, body []byte) {
	c.mu.Lock()
	if c.accepts(w) {
		if !c.abandoned {
			c.head = append(c.head[:0], head...)
			c.fast = append(c.fast[:0], body...)
			c.headSeen = true
			if len(body) > 0 {
				c.segs = append(c.segs, segment{data: c.fast})
				c.memBytes += len(c.fast)
			}
		}
		c.outcome, c.delivered = outcomeOK, true
	}
	c.mu.Unlock()
	c.wake()
}

// deliverData buffers body bytes, in memory or in the spool. It waits
// while the spool is full and the handler still relays.
func (c *call) deliverData(w *worker, p []byte) error {
	c.mu.Lock()
	defer c.wake()
	defer c.mu.Unlock()
	if !c.accepts(w) || c.abandoned {
		return nil
	}
	c.delivered = true
	if c.spool == nil && c.memBytes+len(p) <= memReplyLimit {
		c.segs = append(c.segs, segment{data: append([]byte(nil), p...)})
		c.memBytes += len(p)
		return nil
	}
	for c.spoolEnd-c.spoolSent+int64(len(p)) > maxSpool && c.accepts(w) && !c.abandoned {
		c.spoolWait.Wait()
	}
	if !c.accepts(w) || c.abandoned {
		return nil
	}
	if c.spool == nil {
		f, err := openTemp(c.spoolDir)
		if err != nil {
			return err
		}
		c.spool = f
	}
	off := c.spoolEnd
	// The spool grows only here, on the reader's goroutine; the handler
	// reads ranges already announced in segs.
	if _, err := c.spool.WriteAt(p, off); err != nil {
		return err
	}
	c.spoolEnd += int64(len(p))
	if n := len(c.segs); n > c.segPos && c.segs[n-1].f == c.spool && c.segs[n-1].off+c.segs[n-1].n == off {
		c.segs[n-1].n += int64(len(p))
	} else {
		c.segs = append(c.segs, segment{f: c.spool, off: off, n: int64(len(p))})
	}
	return nil
}

// deliverFile queues a worker's file for sendfile; the call owns f.
func (c *call) deliverFile(w *worker, f *os.File, off, n int64) {
	c.mu.Lock()
	if c.accepts(w) && !c.abandoned {
		c.segs = append(c.segs, segment{f: f, off: off, n: n, owned: true})
		c.delivered = true
		f = nil
	}
	c.mu.Unlock()
	if f != nil {
		f.Close()
	}
	c.wake()
}

// finish ends the reply from the worker's side.
func (c *call) finish(w *worker, o outcome, reason string) {
	c.mu.Lock()
	if c.accepts(w) {
		c.outcome, c.reason, c.delivered = o, reason, true
	}
	c.mu.Unlock()
	c.wake()
	c.spoolWait.Broadcast()
}

// fail ends the call from the pool's side (timeout, lost worker, stop),
// unless it already ended.
func (c *call) fail(o outcome, reason string) {
	c.mu.Lock()
	if c.outcome == outcomePending {
		c.outcome, c.reason = o, reason
	}
	c.mu.Unlock()
	c.wake()
	c.spoolWait.Broadcast()
}

// Fail ends a call no worker took: workers.Job. It drops the pool's
// reference.
func (c *call) Fail(why workers.Refusal) {
	if why == workers.RefusedWaited {
		c.fail(outcomeWaited, "waited for a worker past the timeout")
	} else {
		c.fail(outcomeStopped, "stopped")
	}
	c.release()
}

// WaitedLong tells the handler that the call has waited long in the
// queue: workers.Waiter.
func (c *call) WaitedLong() {
	c.mu.Lock()
	c.waitedLong = c.owner == nil && c.outcome == outcomePending
	c.mu.Unlock()
	c.wake()
}

// Size is what the call adds to a batch's bytes: workers.Job.
func (c *call) Size() int { return len(c.env) + len(c.body) }

// Arrival is when the request arrived at nave: workers.Job.
func (c *call) Arrival() time.Time { return c.arrival }

// abandon tells the reader to drop the rest of the reply. It reports
// whether the worker may still be producing it.
func (c *call) abandon() (running bool) {
	c.mu.Lock()
	c.abandoned = true
	running = c.outcome == outcomePending && c.owner != nil
	c.closeSegments()
	c.mu.Unlock()
	c.spoolWait.Broadcast()
	return running
}

// event is the next thing the handler relays.
type event uint8

const (
	evNone event = iota
	evHead
	evBody
	evEnd
	evWaitedLong // it waited long in the queue: the handler watches its client
)

// next returns the next event: the head (in c.head), a body segment, or
// the end (c.outcome). With wait false it returns evNone rather than wait.
func (c *call) next(wait bool) (event, segment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		switch {
		case c.headSeen:
			c.headSeen = false
			return evHead, segment{}
		case c.segPos < len(c.segs):
			s := c.segs[c.segPos]
			c.segs[c.segPos] = segment{}
			if c.segPos++; c.segPos == len(c.segs) {
				c.segs, c.segPos = c.segs[:0], 0 // keep the capacity
			}
			if s.data != nil {
				c.memBytes -= len(s.data)
			}
			return evBody, s
		case c.outcome != outcomePending:
			return evEnd, segment{}
		case c.waitedLong:
			c.waitedLong = false
			return evWaitedLong, segment{}
		case !wait:
			return evNone, segment{}
		}
		c.mu.Unlock()
		<-c.notify
		c.mu.Lock()
	}
}

// complete reports whether the whole reply is in: the segment just taken
// was the last.
func (c *call) complete() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.outcome == outcomeOK && c.segPos == len(c.segs)
}

// spoolRead reports that the handler relayed n spooled bytes, making room.
func (c *call) spoolRead(n int64) {
	c.mu.Lock()
	c.spoolSent += n
	c.mu.Unlock()
	c.spoolWait.Broadcast()
}

// takenAt is when a worker last took the call, or zero.
func (c *call) takenAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.taken
}

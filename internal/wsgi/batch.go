package wsgi

// A worker's batch: the requests the supervisor assigned it, which its
// writer sends and its reader matches replies to, in order; and what
// happens to them when the worker dies or is stuck.

import (
	"encoding/binary"
	"time"

	"nave/internal/workers"
)

// Assign adds c to w's batch: workers.Worker. The supervisor's lock is
// held; c's reference is the pool's.
func (w *worker) Assign(c *call) {
	w.mu.Lock()
	w.nextID++
	if w.nextID == 0 { // 0 is "no request" in the progress page
		w.nextID++
	}
	c.id = w.nextID
	c.mu.Lock()
	c.owner, c.taken = w, time.Now()
	c.mu.Unlock()
	w.batch = append(w.batch, c)
	w.mu.Unlock()
	w.signalWriter()
}

// Progress is the id of the request the worker last started:
// workers.Worker.
func (w *worker) Progress() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return uint64(w.readProgress())
}

// readProgress returns the id of the request the worker last started.
// mu held.
func (w *worker) readProgress() uint32 {
	if w.progress == nil {
		return w.lastProg
	}
	if _, err := w.progress.ReadAt(w.progBuf[:], 0); err != nil {
		return 0
	}
	return binary.LittleEndian.Uint32(w.progBuf[:])
}

// Retire asks the writer to shut the socket, on which the adapter exits:
// workers.Worker.
func (w *worker) Retire() {
	w.mu.Lock()
	w.shut = true
	w.mu.Unlock()
	w.signalWriter()
}

func (w *worker) signalWriter() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Detach takes w's unanswered requests away from it: workers.Worker. The
// one it was running fails, with 504 when it is stuck and 502 when it
// died; those it had run but whose replies it had not sent yet run again
// elsewhere if their method is safe to repeat (the adapter sends other
// replies at once) and fail otherwise; those it had not started go back
// in again, to run elsewhere.
func (w *worker) Detach(why workers.Cause, again []*call) []*call {
	o, reason := outcomeLost, "the worker died"
	if why == workers.CauseTimeout {
		o, reason = outcomeTimeout, "timed out"
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.detached = true
	pending := w.batch[w.done:]
	running := w.readProgress()
	for _, c := range pending {
		switch d := int32(c.id - running); {
		case d == 0:
			c.fail(o, reason)
			c.release()
		case d < 0 && !c.safe:
			c.fail(outcomeLost, "the worker died before sending the reply")
			c.release()
		default:
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
			again = append(again, c)
		}
	}
	clear(w.batch)
	w.batch, w.sent, w.done = w.batch[:0], 0, 0
	return again
}

// takeWrites hands the writer what it must send: the calls not yet sent
// (retained for it), cancellations, and whether to shut the socket.
func (w *worker) takeWrites(calls []*call, ids, cancels []uint32) ([]*call, []uint32, []uint32, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.detached {
		return calls, ids, cancels, false
	}
	for _, c := range w.batch[w.sent:] {
		c.retain()
		calls = append(calls, c)
		// The id is read here, under mu: once w is detached, c may be
		// assigned to another worker, with a new id, while this write is
		// encoded.
		ids = append(ids, c.id)
	}
	w.sent = len(w.batch)
	cancels = append(cancels, w.cancels...)
	w.cancels = w.cancels[:0]
	shut := w.shut && len(w.batch) == 0
	if shut {
		w.shut = false
	}
	return calls, ids, cancels, shut
}

// current returns, retained, the call a frame with this id answers: the
// oldest unanswered one of the batch. It returns nil once w is detached,
// and an error when the id is not the expected one.
func (w *worker) current(id uint32) (*call, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.detached {
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

// completed records that w answered c, the head of its batch, and tells
// the supervisor, which gives w its next batch once this one is done.
func (w *worker) completed(c *call) {
	w.mu.Lock()
	if w.detached || w.done >= len(w.batch) || w.batch[w.done] != c {
		w.mu.Unlock()
		return
	}
	w.batch[w.done] = nil
	w.done++
	if w.done == len(w.batch) {
		w.batch, w.sent, w.done = w.batch[:0], 0, 0
	}
	w.mu.Unlock()
	c.release()
	w.p.sup.Done(w)
}

// cancel tells the worker that c's client is gone, unless it let go of c.
func (w *worker) cancel(c *call) {
	w.mu.Lock()
	if !w.detached {
		w.cancels = append(w.cancels, c.id)
	}
	w.mu.Unlock()
	w.signalWriter()
}

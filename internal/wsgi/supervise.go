package wsgi

// Supervision: workers are spawned into slots, replaced when they die,
// retired when recycled or reloaded, and restarted with back-off.

import (
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"nave/internal/workers"
)

// restartDelay paces a slot whose workers keep failing: each new try
// waits longer, from 100ms doubling up to 10s. A worker that answered a
// request resets the count.
func restartDelay(failures int) time.Duration {
	return workers.Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second}.Delay(failures)
}

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

// startSlot starts a worker for slot s in the background, with back-off
// after failures, unless one is starting already. mu held.
func (p *Pool) startSlot(i int) {
	s := &p.slots[i]
	if s.spawning || p.stopping {
		return
	}
	s.spawning = true
	go p.spawnSlot(i, p.gen, restartDelay(s.failures))
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
		delay = restartDelay(s.failures)
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
		case <-w.proc.Exited():
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
		status := w.proc.Status()
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
		case <-w.proc.Exited():
			return
		}
	}
	w.kill()
}

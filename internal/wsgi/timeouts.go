package wsgi

// Timeouts: a request past Config.Timeout gets 504, and its worker, stuck,
// is replaced and killed.

import (
	"syscall"
	"time"
)

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
		w.proc.Signal(syscall.SIGUSR1)
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

package workers

// Dispatch: a job goes at once to the least loaded worker with room, or
// waits in the queue; a worker that gains room takes from the queue.

import "time"

// Submit hands j to a worker, or queues it. On success the Pool holds j
// until a worker has it (then the gateway ends it) or it fails (Job.Fail).
// Otherwise it returns ErrBacklogFull or ErrStopped, and j is the
// caller's still.
func (p *Pool[J, W]) Submit(j J) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping || !p.started {
		return ErrStopped
	}
	now := time.Now()
	if p.queue.len() == 0 {
		if m := p.pick(); m != nil {
			p.assign(m, j, now)
			return nil
		}
	}
	if !p.queue.pushBack(j, now) {
		return ErrBacklogFull
	}
	return nil
}

// Withdraw takes j out of the queue, if it is still waiting there: its
// client left, and no worker should spend time on it. It reports whether
// it did; then the Pool has let go of j without calling its Fail, and j
// is the caller's again. A job a worker has taken is not withdrawn.
func (p *Pool[J, W]) Withdraw(j J) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.queue.remove(j) {
		return false
	}
	p.meter.withdrawn.Add(1)
	return true
}

// Done records that w finished one of its jobs. A worker that keeps
// serving resets its slot's failures; one past its MaxJobs is replaced;
// one with room takes from the queue.
func (p *Pool[J, W]) Done(w W) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.all[w]
	if m == nil || m.jobs == 0 || m.state != stateActive && m.state != stateRetiring {
		return // Detach took its jobs back
	}
	m.jobs--
	m.served++
	p.meter.served.Add(1)
	now := time.Now()
	if m.jobs == 0 {
		p.setPhase(m, restPhase(m.state), now)
	}
	p.slots[m.slot].failures = 0
	if m.limit > 0 && m.served >= m.limit && !m.recycling && m.state == stateActive {
		m.recycling = true
		p.log.Info("recycling worker", "worker", m.id, "served", m.served)
		p.startSlot(m.slot)
	}
	switch {
	case m.state == stateRetiring:
		if m.jobs == 0 {
			p.shut(m)
		}
	case p.queue.len() > 0:
		p.feed(m, now)
	case p.stopping && m.jobs == 0:
		p.retire(m, CauseStop)
	}
}

// room reports whether m may take another job. mu held.
func (p *Pool[J, W]) room(m *member[J, W]) bool {
	if p.cfg.Batch {
		return m.jobs == 0
	}
	return m.jobs < p.concurrency
}

// pick returns the least loaded active worker with room, or nil. mu held.
func (p *Pool[J, W]) pick() *member[J, W] {
	var best *member[J, W]
	for i := range p.slots {
		m := p.slots[i].m
		if m == nil || !p.room(m) || best != nil && m.jobs >= best.jobs {
			continue
		}
		if best = m; m.jobs == 0 {
			break
		}
	}
	return best
}

// assign gives j to m at now, counting how long j waited since it
// arrived. mu held.
func (p *Pool[J, W]) assign(m *member[J, W], j J, now time.Time) {
	if at := j.Arrival(); !at.IsZero() {
		p.meter.queueWait.ObserveDuration(now.Sub(at))
	}
	m.jobs++
	p.setPhase(m, phaseBusy, now)
	m.w.Assign(j)
}

// feed gives m what it has room for from the queue at now: as a batch,
// its fair share. mu held.
func (p *Pool[J, W]) feed(m *member[J, W], now time.Time) {
	q := p.queue.len()
	if q == 0 || m.state != stateActive || !p.room(m) {
		return
	}
	n := p.concurrency - m.jobs
	if p.cfg.Batch {
		active := 0
		for i := range p.slots {
			if p.slots[i].m != nil {
				active++
			}
		}
		n = min(n, (q+active-1)/max(active, 1))
	}
	bytes := 0
	for i := 0; i < n && p.queue.len() > 0; i++ {
		if p.cfg.BatchBytes > 0 {
			size := p.queue.peek().job.Size()
			if i > 0 && bytes+size > p.cfg.BatchBytes {
				break
			}
			bytes += size
		}
		p.assign(m, p.queue.popFront(), now)
	}
}

// feedIdle feeds every active worker with room. mu held.
func (p *Pool[J, W]) feedIdle() {
	if p.queue.len() == 0 {
		return
	}
	now := time.Now()
	for i := range p.slots {
		if p.queue.len() == 0 {
			return
		}
		if m := p.slots[i].m; m != nil {
			p.feed(m, now)
		}
	}
}

// takeBack detaches m's jobs: those it gives back wait at the front of
// the queue, in order, unless nothing will serve them. It returns how
// many jobs the worker failed. mu held.
func (p *Pool[J, W]) takeBack(m *member[J, W], why Cause) (lost int) {
	if m.jobs == 0 {
		return 0
	}
	p.again = m.w.Detach(why, p.again[:0])
	lost = max(m.jobs-len(p.again), 0)
	m.jobs = 0
	now := time.Now()
	p.setPhase(m, phaseOut, now)
	for i := len(p.again) - 1; i >= 0; i-- {
		p.queue.pushFront(p.again[i], now)
	}
	clear(p.again)
	p.strand()
	return lost
}

// strand fails the queued jobs once nothing will take them: Stop killed
// the workers, or it retired them all. mu held.
func (p *Pool[J, W]) strand() {
	if !p.stopping || p.queue.len() == 0 {
		return
	}
	if !p.killed {
		for i := range p.slots {
			if p.slots[i].m != nil {
				return
			}
		}
	}
	p.refuseQueued(RefusedStopped)
}

// refuseQueued fails every queued job. mu held.
func (p *Pool[J, W]) refuseQueued(why Refusal) {
	for p.queue.len() > 0 {
		p.queue.popFront().Fail(why)
	}
}

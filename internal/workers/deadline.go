package workers

// Deadlines: a job that waited in the queue past Config.Timeout fails; a
// worker that holds jobs and makes no progress past it is stuck, and is
// replaced. A Waiter job that waited a tick hears it once.

import "time"

// watch enforces Config.Timeout until Stop.
func (p *Pool[J, W]) watch() {
	limit := p.cfg.Timeout
	if limit <= 0 {
		return
	}
	tick := min(max(limit/10, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	var long []Waiter
	for {
		select {
		case now := <-t.C:
			p.checkDeadlines(now, limit)
			// Outside mu: a Waiter may take its own locks.
			p.mu.Lock()
			long = p.queue.waitedLong(now.Add(-tick), long[:0])
			p.mu.Unlock()
			for i, w := range long {
				w.WaitedLong()
				long[i] = nil
			}
		case <-p.stopped:
			return
		}
	}
}

// checkDeadlines fails the jobs that waited in the queue past limit, and
// takes out of service the workers that held jobs without progress past
// it: their jobs are detached (the one running fails, the others run
// elsewhere), Config.Stuck is called, a new worker starts in the slot,
// and the stuck one is killed once that is ready, or after StuckGrace.
// A worker's clock starts at the first check that finds it holding jobs.
func (p *Pool[J, W]) checkDeadlines(now time.Time, limit time.Duration) {
	var stuck []*member[J, W]
	p.mu.Lock()
	for p.queue.len() > 0 && now.Sub(p.queue.peek().at) > limit {
		p.queue.popFront().Fail(RefusedWaited)
	}
	for _, m := range p.all {
		if m.jobs == 0 || m.state != stateActive && m.state != stateRetiring {
			m.progressAt = time.Time{}
			continue
		}
		if pr := m.w.Progress(); pr != m.progress || m.progressAt.IsZero() {
			m.progress, m.progressAt = pr, now
			continue
		}
		if now.Sub(m.progressAt) > limit {
			p.stall(m)
			stuck = append(stuck, m)
		}
	}
	p.feedIdle()
	p.mu.Unlock()
	for _, m := range stuck {
		p.log.Error("a worker is stuck past the timeout; replacing it",
			"worker", m.id, "pid", m.proc.Pid(), "timeout", limit, "cause", CauseTimeout)
		if p.cfg.Stuck != nil {
			p.cfg.Stuck(m.w)
		}
		p.mu.Lock()
		replaced := p.slots[m.slot].m != nil || p.stopping
		p.mu.Unlock()
		if replaced {
			m.proc.Kill()
		} else {
			time.AfterFunc(p.cfg.StuckGrace, m.proc.Kill)
		}
	}
}

// stall takes a stuck worker out of service. mu held.
func (p *Pool[J, W]) stall(m *member[J, W]) {
	prev := m.state
	m.state = stateStuck
	p.takeBack(m, CauseTimeout)
	if p.vacate(m, CauseTimeout) {
		if prev == stateActive {
			p.startSlot(m.slot)
		}
		p.strand()
	}
}

package workers

// Supervision: workers are spawned into slots, replaced when they die,
// retired when recycled, reloaded or stopped, and restarted with back-off.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// StartError is a worker that did not become ready. Import is set when the
// app failed to import (the worker exited with Config.ImportExit); Output
// is what the worker printed first, the traceback.
type StartError struct {
	App    string
	Import bool
	Reason string // one line: the exception, or why the start failed
	Output string
}

func (e *StartError) Error() string {
	if e.Import {
		return fmt.Sprintf("cannot import app '%s': %s", e.App, e.Reason)
	}
	return fmt.Sprintf("worker for app '%s' did not start: %s", e.App, e.Reason)
}

// spawn starts a worker for slot and waits until it is ready. A ready
// worker is in all, awaited, and stateStarting until install.
func (p *Pool[J, W]) spawn(slot, gen int) (*member[J, W], error) {
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	p.starting++
	p.mu.Unlock()
	ready := false
	defer func() {
		if !ready {
			p.mu.Lock()
			p.starting--
			p.mu.Unlock()
		}
	}()
	w, err := p.cfg.Start(id)
	if err != nil {
		return nil, &StartError{App: p.cfg.App, Reason: err.Error()}
	}
	proc := w.Process()
	timer := time.NewTimer(p.cfg.StartTimeout)
	defer timer.Stop()
	select {
	case <-w.Ready():
		proc.Ready()
		m := &member[J, W]{w: w, proc: proc, id: id, slot: slot, gen: gen, started: time.Now()}
		p.mu.Lock()
		p.all[w] = m
		p.starting-- // counted as a member in stateStarting from here
		ready = true
		p.mu.Unlock()
		go p.await(m)
		return m, nil
	case <-proc.Exited():
		return nil, p.startFailure(proc)
	case <-timer.C:
		proc.Kill()
		<-proc.Exited()
		return nil, &StartError{App: p.cfg.App, Reason: fmt.Sprintf("not ready within %v", p.cfg.StartTimeout), Output: proc.EarlyOutput()}
	}
}

// startFailure describes a worker that exited before it was ready.
func (p *Pool[J, W]) startFailure(proc *Process) *StartError {
	out := proc.EarlyOutput()
	e := &StartError{App: p.cfg.App, Output: out}
	switch code := proc.ExitCode(); {
	case code == p.cfg.ImportExit && code != 0:
		e.Import = true
		e.Reason = LastLine(out)
	case code == p.cfg.UsageExit && code != 0:
		e.Reason = LastLine(out)
	default:
		e.Reason = proc.Status()
		if line := LastLine(out); line != "" {
			e.Reason += ": " + line
		}
	}
	return e
}

// spawnAll starts one worker per slot in parallel, all of generation gen;
// if any fails, it kills the others and returns the error, an import
// error first.
func (p *Pool[J, W]) spawnAll(gen int) ([]*member[J, W], error) {
	ms := make([]*member[J, W], len(p.slots))
	errs := make([]error, len(p.slots))
	var wg sync.WaitGroup
	for i := range ms {
		wg.Go(func() { ms[i], errs[i] = p.spawn(i, gen) })
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
		return ms, nil
	}
	for _, m := range ms {
		if m != nil {
			m.proc.Kill() // await lets go of it
		}
	}
	return nil, first
}

// install puts a ready worker in its slot, retiring the one it replaces
// and killing the slot's stuck ones. mu held.
func (p *Pool[J, W]) install(m *member[J, W]) {
	if p.stopping {
		m.proc.Kill()
		return
	}
	s := &p.slots[m.slot]
	if m.state == stateDead {
		// It died between ready and now: its slot needs another.
		if s.m == nil {
			s.failures++
			p.startSlot(m.slot)
		}
		return
	}
	m.state = stateActive
	now := time.Now()
	p.setPhase(m, phaseIdle, now)
	if m.gen < p.gen {
		// Started for code that a Reload has since replaced.
		p.retire(m, CauseReload)
		return
	}
	if old := s.m; old != nil {
		why := CauseRecycle
		if old.gen < m.gen {
			why = CauseReload
		}
		p.retire(old, why)
	}
	s.m = m
	for _, o := range p.all {
		if o.slot == m.slot && o.state == stateStuck {
			o.proc.Kill()
		}
	}
	if p.cfg.MaxJobs > 0 {
		m.limit = p.cfg.MaxJobs + rand.IntN(p.cfg.MaxJobs/8+1)
	}
	p.feed(m, now)
}

// retire takes m out of service: it finishes its jobs, then is told to
// exit. mu held.
func (p *Pool[J, W]) retire(m *member[J, W], why Cause) {
	if m.state != stateActive {
		return
	}
	m.state = stateRetiring
	p.vacate(m, why)
	if m.jobs == 0 {
		p.setPhase(m, phaseOut, time.Now())
		p.shut(m)
	}
}

// vacate takes m out of its slot, if it holds it, for why: the one place
// a worker leaves service, where restarts are to be counted by why (issue
// 15). mu held.
func (p *Pool[J, W]) vacate(m *member[J, W], why Cause) bool {
	s := &p.slots[m.slot]
	if s.m != m {
		return false
	}
	s.m = nil
	if why != CauseStop {
		p.meter.restarts[why].Add(1)
	}
	p.log.Debug("worker leaves service", "worker", m.id, "cause", why)
	return true
}

// shut tells a retiring worker with no jobs to exit, and bounds the exit.
// mu held.
func (p *Pool[J, W]) shut(m *member[J, W]) {
	m.w.Retire()
	time.AfterFunc(p.cfg.RetireGrace, m.proc.Kill)
}

// startSlot starts a worker for slot i in the background, with back-off
// after failures, unless one is starting already. mu held.
func (p *Pool[J, W]) startSlot(i int) {
	s := &p.slots[i]
	if s.spawning || p.stopping {
		return
	}
	s.spawning = true
	go p.spawnSlot(i, p.gen, p.cfg.Backoff.Delay(s.failures))
}

func (p *Pool[J, W]) spawnSlot(i, gen int, delay time.Duration) {
	for {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-p.stopped:
				return
			}
		}
		m, err := p.spawn(i, gen)
		p.mu.Lock()
		s := &p.slots[i]
		if err == nil {
			s.spawning = false
			p.install(m)
			p.feedIdle()
			p.mu.Unlock()
			return
		}
		s.failures++
		delay = p.cfg.Backoff.Delay(s.failures)
		stopping := p.stopping
		gen = p.gen
		p.mu.Unlock()
		if stopping {
			return
		}
		attrs := []any{"err", err, "retry_in", delay}
		var se *StartError
		if errors.As(err, &se) && se.Output != "" {
			attrs = append(attrs, "output", se.Output)
		}
		p.log.Error("a worker failed to start; retrying", attrs...)
	}
}

// await lets go of m once its process ended.
func (p *Pool[J, W]) await(m *member[J, W]) {
	<-m.proc.Exited()
	p.died(m)
}

// died lets go of a worker whose process ended: the jobs it held are
// detached (Worker.Detach says which fail and which run elsewhere), and
// its slot gets a new worker.
func (p *Pool[J, W]) died(m *member[J, W]) {
	p.mu.Lock()
	prev := m.state
	m.state = stateDead
	lost := p.takeBack(m, CauseCrash)
	p.setPhase(m, phaseOut, time.Now())
	delete(p.all, m.w)
	if p.vacate(m, CauseCrash) {
		if m.served == 0 {
			p.slots[m.slot].failures++
		}
		p.startSlot(m.slot)
		p.strand()
	}
	if p.stopping && len(p.all) == 0 && p.allGone != nil {
		close(p.allGone)
		p.allGone = nil
	}
	p.feedIdle()
	p.mu.Unlock()
	if prev == stateActive || lost > 0 {
		// lost_request, as nave has always logged it: operators and
		// test/robust count the requests lost by it.
		p.log.Error("worker died", "worker", m.id, "pid", m.proc.Pid(), "status", m.proc.Status(), "lost_request", lost > 0)
		return
	}
	p.log.Debug("worker exited", "worker", m.id, "pid", m.proc.Pid(), "status", m.proc.Status())
}

package workers

import (
	"testing"
	"time"
)

// inproc is a Worker whose jobs end when the test says so, over a real but
// idle process: for the cost of dispatch alone.
type inproc struct {
	proc     *Process
	ready    chan struct{}
	assigned int
}

func (w *inproc) Process() *Process                     { return w.proc }
func (w *inproc) Ready() <-chan struct{}                { return w.ready }
func (w *inproc) Assign(*tJob)                          { w.assigned++ }
func (w *inproc) Progress() uint64                      { return 0 }
func (w *inproc) Detach(_ Cause, again []*tJob) []*tJob { return again }
func (w *inproc) Retire()                               { w.proc.Kill() }

// startInproc returns a started Pool of one inproc worker.
func startInproc(tb testing.TB, cfg Config[*tJob, *inproc]) (*Pool[*tJob, *inproc], *inproc) {
	tb.Helper()
	var w *inproc
	cfg.Start = func(id int) (*inproc, error) {
		proc, err := Start(Spec{ID: id, Path: "/bin/sleep", Args: []string{"60"}})
		if err != nil {
			return nil, err
		}
		w = &inproc{proc: proc, ready: make(chan struct{})}
		close(w.ready)
		return w, nil
	}
	p := NewPool(cfg)
	if err := p.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Kill)
	return p, w
}

// TestDispatchNoAlloc: submitting a job, queueing one behind it and
// reporting both done allocate nothing, one at a time or batched, with
// the figures counted (the queue wait, the busy and idle stretches).
func TestDispatchNoAlloc(t *testing.T) {
	for _, batch := range []bool{false, true} {
		p, w := startInproc(t, Config[*tJob, *inproc]{Batch: batch, Concurrency: 1, MaxJobs: 1 << 30})
		j := &tJob{at: time.Now()}
		allocs := testing.AllocsPerRun(1000, func() {
			if p.Submit(j) != nil || p.Submit(j) != nil {
				t.Fatal("Submit refused")
			}
			p.Done(w) // the second job goes to w from the queue
			p.Done(w)
		})
		if allocs != 0 {
			t.Errorf("batch %v: %v allocations per run, want 0", batch, allocs)
		}
		if w.assigned != 2002 { // AllocsPerRun runs it once more first
			t.Errorf("batch %v: %d jobs assigned, want 2002", batch, w.assigned)
		}
		if s := p.Stats(); s.QueueWait.Count() != 2002 || s.Served != 2002 {
			t.Errorf("batch %v: %d waits and %d served counted, want 2002", batch, s.QueueWait.Count(), s.Served)
		}
	}
}

// BenchmarkDispatch is one job submitted and done, with another queued
// behind it: the Pool's share of a request's cost.
func BenchmarkDispatch(b *testing.B) {
	p, w := startInproc(b, Config[*tJob, *inproc]{Batch: true, Concurrency: 64})
	j := &tJob{}
	b.ReportAllocs()
	for b.Loop() {
		p.Submit(j)
		p.Submit(j)
		p.Done(w)
		p.Done(w)
	}
}

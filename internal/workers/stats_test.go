package workers

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestPoolStats: the figures follow the jobs: a busy worker and a queued
// job while one runs, the queue wait counted from each job's arrival, the
// busy time at least what the child worked, and two pools sharing a Meter
// add up.
func TestPoolStats(t *testing.T) {
	meter := NewMeter()
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Meter: meter})
	if s := meter.Snapshot(); s.Slots != 0 {
		t.Errorf("before Start: %+v", s)
	}
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	if s := h.pool.Stats(); s.Slots != 1 || s.Idle != 1 || s.Busy != 0 || s.Starting != 0 || len(s.Workers) != 1 || s.Workers[0].State != "idle" {
		t.Errorf("started: %+v", s)
	}
	running := h.submit(300)
	// This one arrived 5 s ago, at a proxy in front, say: its wait is
	// at least that.
	late := &tJob{res: make(chan string, 1), at: time.Now().Add(-5 * time.Second)}
	if err := h.pool.Submit(late); err != nil {
		t.Fatal(err)
	}
	s := meter.Snapshot()
	if s.Busy != 1 || s.Idle != 0 || s.InFlight != 1 || s.Queued != 1 {
		t.Errorf("one running, one queued: busy %d idle %d in flight %d queued %d, want 1 0 1 1", s.Busy, s.Idle, s.InFlight, s.Queued)
	}
	if w := h.pool.Stats().Workers; len(w) != 1 || w[0].State != "busy" || w[0].Jobs != 1 || w[0].Pid != h.worker(0).proc.Pid() || runtime.GOOS == "linux" && w[0].RSS < 1<<20 {
		t.Errorf("workers: %+v", w)
	}
	h.ok(running)
	h.ok(late)
	s = settled(t, meter, 2)
	if s.Served != 2 || s.QueueWait.Count() != 2 || s.Busy != 0 || s.Idle != 1 || s.Queued != 0 || s.InFlight != 0 {
		t.Errorf("both done: %+v", s)
	}
	if q := s.QueueWait.Quantile(1); q < 5 {
		t.Errorf("the longest wait is about %vs, want at least 5 (the late job's)", q)
	}
	if s.BusySeconds < 0.3 {
		t.Errorf("busy %vs, want at least the 0.3s the child worked", s.BusySeconds)
	}
	if s.IdleSeconds <= 0 {
		t.Errorf("idle %vs, want more than 0", s.IdleSeconds)
	}

	// A second pool on the Meter (a reload's new pool, say) adds its
	// worker; once stopped, it leaves the live figures, not the counts.
	h2 := newHarness(t, "serve", Config[*tJob, *tWorker]{Meter: meter})
	if err := h2.pool.Start(); err != nil {
		t.Fatal(err)
	}
	h2.ok(h2.submit(0))
	if s := settled(t, meter, 3); s.Slots != 2 || s.Idle != 2 || s.Served != 3 {
		t.Errorf("two pools: slots %d idle %d served %d, want 2 2 3", s.Slots, s.Idle, s.Served)
	}
	h2.pool.Kill()
	if s := meter.Snapshot(); s.Slots != 1 || s.Served != 3 {
		t.Errorf("one stopped: slots %d served %d, want 1 and 3", s.Slots, s.Served)
	}
}

// settled waits (15 s at most) until the Meter counts served jobs done:
// a job's outcome reaches the test before its worker reports it done.
func settled(t *testing.T, m *Meter, served uint64) Stats {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := m.Snapshot()
		if s.Served >= served || time.Now().After(deadline) {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPoolStatsConcurrent: a worker holding many jobs at once (ASGI's)
// is one busy worker, with all its jobs in flight.
func TestPoolStatsConcurrent(t *testing.T) {
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Workers: 2, Concurrency: 4})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	// Least loaded first: the first two go one to each worker, the next
	// two one more to each.
	for range 4 {
		h.submit(60_000)
	}
	s := h.pool.Stats()
	if s.Busy != 2 || s.Idle != 0 || s.InFlight != 4 || s.Queued != 0 {
		t.Errorf("4 jobs on 2 workers of 4 each: busy %d idle %d in flight %d queued %d, want 2 0 4 0", s.Busy, s.Idle, s.InFlight, s.Queued)
	}
	for _, w := range s.Workers {
		if w.State != "busy" || w.Jobs != 2 {
			t.Errorf("worker %+v, want busy with 2 jobs", w)
		}
	}
	h.pool.Kill()
}

// TestPoolInService: every worker is in service once started, and stays
// so across a reload (the new ones take the slots from the old); each
// that dies and cannot start again leaves one fewer, down to none; all
// are back once they can start.
func TestPoolInService(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "broken")
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Workers: 2, Backoff: Backoff{Min: 20 * time.Millisecond, Max: 80 * time.Millisecond}},
		failIfEnv+"="+broken)
	if n := h.pool.InService(); n != 0 {
		t.Errorf("before Start: %d in service, want 0", n)
	}
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	if n := h.pool.InService(); n != 2 {
		t.Errorf("started: %d in service, want 2", n)
	}
	stop, lowest := make(chan struct{}), make(chan int)
	go func() {
		low := 2
		for {
			select {
			case <-stop:
				lowest <- low
				return
			default:
			}
			low = min(low, h.pool.InService())
			time.Sleep(100 * time.Microsecond)
		}
	}()
	if err := h.pool.Reload(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if low := <-lowest; low != 2 {
		t.Errorf("during a reload: %d in service at the lowest, want 2", low)
	}

	os.WriteFile(broken, nil, 0o644)
	for want := 1; want >= 0; want-- {
		if r := h.result(h.submit(-1)); r != "lost" {
			t.Fatalf("crashing job: got %q, want lost", r)
		}
		if n := h.pool.InService(); n != want {
			t.Errorf("after a crash with the code broken: %d in service, want %d", n, want)
		}
	}
	os.Remove(broken)
	deadline := time.Now().Add(15 * time.Second)
	for h.pool.InService() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("code fixed: %d in service after 15s, want 2", h.pool.InService())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

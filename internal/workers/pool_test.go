package workers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPoolReady: Start returns once every worker said it is ready, and
// jobs run on them.
func TestPoolReady(t *testing.T) {
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Workers: 3})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if !isClosed(h.worker(i).ready) {
			t.Errorf("worker %d not ready when Start returned", i)
		}
	}
	if pid := h.ok(h.submit(0)); pid <= 0 {
		t.Errorf("pid %d", pid)
	}
}

// TestPoolStartFailure: a worker that fails to start fails Start with a
// StartError that says why; the others are killed.
func TestPoolStartFailure(t *testing.T) {
	h := newHarness(t, "fail", Config[*tJob, *tWorker]{Workers: 2})
	err := h.pool.Start()
	var se *StartError
	if !errors.As(err, &se) || !se.Import || se.Reason != "ImportError: no module named nope" || !strings.Contains(se.Output, "Traceback") {
		t.Fatalf("got %v (%+v)", err, se)
	}
	if !strings.HasPrefix(err.Error(), "cannot import app 'test:app'") {
		t.Errorf("message %q", err)
	}
	if err := h.pool.Submit(&tJob{}); err != ErrStopped {
		t.Errorf("Submit after a failed Start: got %v, want ErrStopped", err)
	}

	h = newHarness(t, "serve", Config[*tJob, *tWorker]{Workers: 2}, failIDEnv+"=2")
	if err := h.pool.Start(); !errors.As(err, &se) || !se.Import {
		t.Fatalf("one of two failing: got %v", err)
	}
	for i := range 2 {
		if w := h.worker(i); isClosed(w.ready) {
			gone(t, w.proc.Pid()) // the one that was ready is killed
		}
	}

	h = newHarness(t, "hang", Config[*tJob, *tWorker]{Workers: 2, StartTimeout: 200 * time.Millisecond})
	err = h.pool.Start()
	if !errors.As(err, &se) || se.Import || se.Reason != "not ready within 200ms" {
		t.Fatalf("never ready: got %v", err)
	}
	for i := range 2 {
		gone(t, h.worker(i).proc.Pid())
	}
}

// TestPoolCrash: a worker that dies fails the job it ran, and is replaced;
// while the code is broken the slot retries with capped back-off; a job
// that comes meanwhile is served once the code is fixed; a worker that
// served resets the back-off.
func TestPoolCrash(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "broken")
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Backoff: Backoff{Min: 20 * time.Millisecond, Max: 80 * time.Millisecond}},
		failIfEnv+"="+broken)
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	pid := h.ok(h.submit(0))
	if r := h.result(h.submit(-1)); r != "lost" {
		t.Fatalf("crashing job: got %q, want lost", r)
	}
	if p := h.ok(h.submit(0)); p == pid {
		t.Fatalf("not replaced: pid %d", p)
	}
	h.waitLog("worker died")
	h.waitLog("exit status 7")
	if n := h.pool.Stats().Restarts[CauseCrash]; n != 1 {
		t.Errorf("crash restarts: got %d, want 1", n)
	}

	os.WriteFile(broken, nil, 0o644)
	h.submit(-1)
	h.waitLog("retry_in=80ms")
	for _, d := range []string{"20ms", "40ms", "80ms"} {
		if !strings.Contains(h.log.String(), "retry_in="+d) {
			t.Errorf("no retry after %s", d)
		}
	}
	if strings.Contains(h.log.String(), "retry_in=160ms") {
		t.Error("back-off past its Max")
	}
	waiting := h.submit(0)
	os.Remove(broken)
	h.ok(waiting)

	// The slot's failures were reset by the job served: the next failure
	// waits Min again.
	mark := len(h.log.String())
	os.WriteFile(broken, nil, 0o644)
	h.submit(-1)
	h.waitLog("a worker failed to start")
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(h.log.String()[mark:], "retry_in=") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if after := h.log.String()[mark:]; !strings.Contains(after, "retry_in=20ms") || strings.Index(after, "retry_in=20ms") != strings.Index(after, "retry_in=") {
		t.Errorf("back-off not reset by a served job:\n%s", after)
	}
}

// TestPoolReload: Reload replaces every worker with a new one; when the
// new ones fail to start, it returns their error and the old ones serve.
func TestPoolReload(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "broken")
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Workers: 2}, failIfEnv+"="+broken)
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	old := []int{h.worker(0).proc.Pid(), h.worker(1).proc.Pid()}
	if err := h.pool.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	for _, pid := range old {
		gone(t, pid)
	}
	served := map[int]bool{}
	for range 6 {
		served[h.ok(h.submit(0))] = true
	}
	for _, pid := range old {
		if served[pid] {
			t.Errorf("old worker %d served after Reload", pid)
		}
	}
	if s := h.pool.Stats(); s.Restarts[CauseReload] != 2 || s.Restarts[CauseCrash] != 0 {
		t.Errorf("restarts after a reload of 2 workers: %v, want 2 by reload and none by crash", s.Restarts)
	}
	current := []int{h.worker(2).proc.Pid(), h.worker(3).proc.Pid()}

	os.WriteFile(broken, nil, 0o644)
	err := h.pool.Reload()
	var se *StartError
	if !errors.As(err, &se) || !se.Import {
		t.Fatalf("failing Reload: got %v", err)
	}
	for range 6 {
		if pid := h.ok(h.submit(0)); pid != current[0] && pid != current[1] {
			t.Errorf("served by %d, want one of %v", pid, current)
		}
	}
}

// TestPoolMaxJobs: workers recycle after MaxJobs jobs (and up to an
// eighth more), and no job fails across the recycling.
func TestPoolMaxJobs(t *testing.T) {
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{MaxJobs: 8})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	// Each recycling starts the new worker first: the old one serves on
	// until it is ready.
	pids := map[int]int{}
	for n := 0; len(pids) < 3; n++ {
		if n == 400 {
			t.Fatalf("%d jobs with MaxJobs 8 ran on %d workers: %v", n, len(pids), pids)
		}
		pids[h.ok(h.submit(2))]++
	}
	h.waitLog("recycling worker")
	h.pool.mu.Lock()
	limit := h.pool.slots[0].m.limit
	h.pool.mu.Unlock()
	if limit < 8 || limit > 9 {
		t.Errorf("limit %d, want 8 or 9", limit)
	}
	if n := h.pool.Stats().Restarts[CauseRecycle]; n < 2 {
		t.Errorf("recycle restarts: got %d, want at least 2 (3 workers served)", n)
	}
}

// TestPoolTimeout: a worker that makes no progress past the timeout is
// stuck: its running job times out, the hook is called, the job queued
// behind it runs on its replacement, and it is killed.
func TestPoolTimeout(t *testing.T) {
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Timeout: 300 * time.Millisecond, Batch: true, Concurrency: 8})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	first := h.worker(0)
	busy := h.submit(100)
	stuck := h.submit(60_000)
	behind := h.submit(0)
	h.ok(busy) // then the two others went to the worker as one batch
	if r := h.result(stuck); r != "timeout" {
		t.Errorf("stuck job: got %q, want timeout", r)
	}
	if pid := h.ok(behind); pid == first.proc.Pid() {
		t.Errorf("the job behind ran on the stuck worker")
	}
	select {
	case w := <-h.stuck:
		if w != first {
			t.Errorf("hook called for another worker")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Stuck hook not called")
	}
	gone(t, first.proc.Pid())
	if n := h.pool.Stats().Restarts[CauseTimeout]; n != 1 {
		t.Errorf("timeout restarts: got %d, want 1", n)
	}
}

// TestPoolStuckGrace: a stuck worker whose replacement cannot start is
// killed after StuckGrace all the same.
func TestPoolStuckGrace(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "broken")
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Timeout: 200 * time.Millisecond, StuckGrace: 300 * time.Millisecond},
		failIfEnv+"="+broken)
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(broken, nil, 0o644)
	stuck := h.submit(60_000)
	if r := h.result(stuck); r != "timeout" {
		t.Fatalf("got %q, want timeout", r)
	}
	h.waitLog("a worker failed to start; retrying")
	gone(t, h.worker(0).proc.Pid())
}

// TestPoolStop: Stop lets the jobs in flight and queued finish; then jobs
// are refused. When its context ends first, what is left fails.
func TestPoolStop(t *testing.T) {
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	running, queued := h.submit(300), h.submit(0)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := h.pool.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
	for _, j := range []*tJob{running, queued} {
		select {
		case r := <-j.res:
			if !strings.HasPrefix(r, "ok") {
				t.Errorf("got %q, want ok", r)
			}
		default:
			t.Error("Stop returned before the job ended")
		}
	}
	if err := h.pool.Submit(&tJob{}); err != ErrStopped {
		t.Errorf("Submit after Stop: got %v", err)
	}
	gone(t, h.worker(0).proc.Pid())

	h = newHarness(t, "serve", Config[*tJob, *tWorker]{})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	running, queued = h.submit(60_000), h.submit(0)
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.pool.Stop(ctx); err != context.DeadlineExceeded {
		t.Errorf("Stop: got %v, want DeadlineExceeded", err)
	}
	if r := h.result(running); r != "lost" {
		t.Errorf("running: got %q, want lost", r)
	}
	if r := h.result(queued); r != "refused:stopped" {
		t.Errorf("queued: got %q, want refused:stopped", r)
	}
}

// TestPoolBacklog: beyond the backlog Submit refuses; a job that waits
// past the timeout fails.
func TestPoolBacklog(t *testing.T) {
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Backlog: 2, Timeout: 5 * time.Second})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	h.submit(60_000)
	h.submit(0)
	h.submit(0)
	if err := h.pool.Submit(&tJob{res: make(chan string, 1)}); err != ErrBacklogFull {
		t.Errorf("past the backlog: got %v, want ErrBacklogFull", err)
	}

	h = newHarness(t, "serve", Config[*tJob, *tWorker]{Timeout: 300 * time.Millisecond, Concurrency: 1})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	h.submit(60_000)
	if r := h.result(h.submit(0)); r != "refused:waited" {
		t.Errorf("waited: got %q, want refused:waited", r)
	}
}

// TestPoolWithdraw: a queued job withdrawn leaves the queue without being
// failed or run, and is counted as abandoned; the jobs behind it move up;
// a job a worker has taken is not withdrawn.
func TestPoolWithdraw(t *testing.T) {
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Timeout: 5 * time.Second, Concurrency: 1})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	busy := h.submit(300)
	gone, kept := h.submit(0), h.submit(0)
	if h.pool.Withdraw(busy) {
		t.Error("withdrew the job a worker had taken")
	}
	if !h.pool.Withdraw(gone) {
		t.Fatal("did not withdraw a queued job")
	}
	if h.pool.Withdraw(gone) {
		t.Error("withdrew the same job twice")
	}
	h.ok(busy)
	h.ok(kept)
	select {
	case r := <-gone.res:
		t.Errorf("the withdrawn job had an outcome: %q", r)
	case <-time.After(100 * time.Millisecond):
	}
	if s := h.pool.Stats(); s.Abandoned != 1 || s.Queued != 0 {
		t.Errorf("abandoned %d, queued %d; want 1 and 0", s.Abandoned, s.Queued)
	}
}

// TestPoolWaitedLong: a Waiter job that waits in the queue past a tick of
// the timeout watch hears it once; one a worker takes at once does not.
func TestPoolWaitedLong(t *testing.T) {
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Timeout: 400 * time.Millisecond, Concurrency: 1})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	busy := h.submit(250) // the watch ticks every 40 ms
	queued := h.submit(0)
	h.ok(busy)
	h.ok(queued)
	if n := queued.long.Load(); n != 1 {
		t.Errorf("the queued job heard it waited long %d times, want once", n)
	}
	if n := busy.long.Load(); n != 0 {
		t.Errorf("the job taken at once heard it waited long %d times", n)
	}
}

// TestPoolConcurrency: workers that run several jobs at once get each new
// job on the least loaded of them, never more than Concurrency; a job
// past that waits, and goes to the first worker with room.
func TestPoolConcurrency(t *testing.T) {
	h := newHarness(t, "concurrent", Config[*tJob, *tWorker]{Workers: 2, Concurrency: 3})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	a, b := h.worker(0), h.worker(1)
	var long []*tJob
	for i := range 4 {
		long = append(long, h.submit(60_000))
		ha, _, _ := a.stats()
		hb, _, _ := b.stats()
		if d := ha - hb; d < -1 || d > 1 || ha+hb != i+1 {
			t.Fatalf("after %d jobs: held %d and %d", i+1, ha, hb)
		}
	}
	short := h.submit(200) // goes to one, now at 3
	long = append(long, h.submit(60_000))
	waiting := h.submit(0) // both at 3: waits
	if ha, _, _ := a.stats(); ha != 3 {
		t.Errorf("a holds %d, want 3", ha)
	}
	if hb, _, _ := b.stats(); hb != 3 {
		t.Errorf("b holds %d, want 3", hb)
	}
	pid := h.ok(short)
	if got := h.ok(waiting); got != pid {
		t.Errorf("the waiting job ran on %d, want %d, which had room", got, pid)
	}
	for _, w := range []*tWorker{a, b} {
		if _, m, _ := w.stats(); m > 3 {
			t.Errorf("a worker held %d jobs at once, limit 3", m)
		}
	}
	_ = long
}

// TestPoolBatch: a batching worker takes work only when it holds none,
// and then what queued, at once.
func TestPoolBatch(t *testing.T) {
	h := newHarness(t, "serve", Config[*tJob, *tWorker]{Batch: true, Concurrency: 64})
	if err := h.pool.Start(); err != nil {
		t.Fatal(err)
	}
	w := h.worker(0)
	busy := h.submit(200)
	var queued []*tJob
	for range 5 {
		queued = append(queued, h.submit(0))
	}
	if held, _, _ := w.stats(); held != 1 {
		t.Errorf("busy worker holds %d, want 1", held)
	}
	h.ok(busy)
	for _, j := range queued {
		h.ok(j)
	}
	if _, m, n := w.stats(); m != 5 || n != 6 {
		t.Errorf("held at most %d of %d jobs, want the 5 queued as one batch", m, n)
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

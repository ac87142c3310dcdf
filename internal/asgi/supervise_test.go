package asgi_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"nave/internal/asgi"
	"nave/internal/wiretest"
)

// superviseApp serves testdata/supervised/app.py, copied to a folder the
// test may change, with cfg; it returns that folder too.
func superviseApp(t *testing.T, cfg asgi.Config) (*wiretest.Server, *asgi.Handler, *syncLog, string) {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/supervised/app.py")
	if err != nil {
		t.Fatal(err)
	}
	writeApp(t, dir, string(src))
	cfg.App = "app:app"
	srv, h, log := serveAppIn(t, cfg, dir)
	return srv, h, log, dir
}

func writeApp(t *testing.T, dir, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// whoAnswers asks / and returns the worker's pid and code version.
func whoAnswers(t *testing.T, srv *wiretest.Server) (int, string) {
	t.Helper()
	r := get(t, srv, "/")
	pid, version, _ := strings.Cut(string(r.Body), " ")
	n, err := strconv.Atoi(pid)
	if r.Status != 200 || err != nil {
		t.Fatalf("GET /: got %d %q", r.Status, r.Body)
	}
	return n, version
}

// eventually polls cond for a few seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sorted(pids []int) []int { slices.Sort(pids); return pids }

// TestKilledWorkerReplaced: a worker killed with SIGKILL is replaced, and
// requests keep being served meanwhile by the other.
func TestKilledWorkerReplaced(t *testing.T) {
	srv, h, _, _ := superviseApp(t, asgi.Config{Workers: 2})
	before := sorted(h.Pids())
	if len(before) != 2 {
		t.Fatalf("pids: got %v, want 2", before)
	}
	syscall.Kill(before[0], syscall.SIGKILL)
	// A request the dead worker had when it died would fail (500); once
	// its death is known, none go to it.
	eventually(t, "the death noticed", func() bool { return !slices.Contains(h.Pids(), before[0]) })
	for range 20 {
		if pid, _ := whoAnswers(t, srv); pid == before[0] {
			t.Fatalf("the killed worker %d answered", pid)
		}
	}
	eventually(t, "a replacement", func() bool {
		p := h.Pids()
		return len(p) == 2 && !slices.Contains(p, before[0]) && slices.Contains(p, before[1])
	})
}

// TestMaxRequestsRecycles: past MaxRequests (plus at most an eighth) the
// worker is replaced (its replacement starts first, so the old one keeps
// serving meanwhile); the old one exits.
func TestMaxRequestsRecycles(t *testing.T) {
	srv, h, _, _ := superviseApp(t, asgi.Config{Workers: 1, MaxRequests: 8})
	first, _ := whoAnswers(t, srv)
	n := 1
	eventually(t, "a recycled worker answers", func() bool {
		pid, _ := whoAnswers(t, srv)
		n++
		return pid != first
	})
	if n <= 8 {
		t.Errorf("recycled after %d requests, want past 8", n)
	}
	eventually(t, "the old worker exits", func() bool {
		p := h.Pids()
		return len(p) == 1 && p[0] != first
	})
}

// TestReload: a reload starts new workers first, with the code on disk;
// a reload whose code does not import keeps the old workers serving.
func TestReload(t *testing.T) {
	srv, h, _, dir := superviseApp(t, asgi.Config{Workers: 2})
	old := sorted(h.Pids())
	src, _ := os.ReadFile(filepath.Join(dir, "app.py"))
	writeApp(t, dir, strings.Replace(string(src), `VERSION = "v1"`, `VERSION = "v2"`, 1))
	if err := h.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	// Reload returns once the new generation is in: every answer is v2.
	for range 10 {
		if pid, v := whoAnswers(t, srv); v != "v2" || slices.Contains(old, pid) {
			t.Fatalf("after Reload: %d %s answered, want a new worker with v2 (old %v)", pid, v, old)
		}
	}
	eventually(t, "the old workers exit", func() bool {
		p := h.Pids()
		return len(p) == 2 && !slices.Contains(p, old[0]) && !slices.Contains(p, old[1])
	})
	kept := sorted(h.Pids())
	writeApp(t, dir, "import no_such_module\n")
	err := h.Reload()
	if se, ok := err.(*asgi.StartError); !ok || !se.Import {
		t.Fatalf("Reload of code that does not import: got %v, want an import StartError", err)
	}
	if pid, v := whoAnswers(t, srv); v != "v2" || !slices.Contains(kept, pid) {
		t.Errorf("after the failed Reload: %d %s answered, want one of %v with v2", pid, v, kept)
	}
	if got := sorted(h.Pids()); !slices.Equal(got, kept) {
		t.Errorf("pids: got %v, want %v kept", got, kept)
	}
}

// TestStuckLoop: an app that blocks its loop (time.sleep in an async
// view) past the timeout gets its request a 504; its stack is logged
// and its worker replaced. A long poll (awaiting past the timeout) is not
// stuck: the loop's heartbeat moves Progress.
func TestStuckLoop(t *testing.T) {
	srv, h, log, _ := superviseApp(t, asgi.Config{Workers: 1, Timeout: 1500 * time.Millisecond})
	if r := get(t, srv, "/poll"); r.Status != 200 {
		t.Errorf("a 2.5 s await with a 1.5 s timeout: got %d %q, want 200", r.Status, r.Body)
	}
	before := h.Pids()
	if r := get(t, srv, "/block"); r.Status != 504 {
		t.Errorf("a blocked loop: got %d %q, want 504", r.Status, r.Body)
	}
	eventually(t, "a replacement", func() bool {
		p := h.Pids()
		return len(p) == 1 && p[0] != before[0]
	})
	if pid, _ := whoAnswers(t, srv); pid == before[0] {
		t.Errorf("the stuck worker %d still answers", pid)
	}
	eventually(t, "the stack in the log", func() bool {
		return strings.Contains(log.String(), "stuck") && strings.Contains(log.String(), `in app`)
	})
}

// TestStopDrains: Stop lets a request in flight finish, then every worker
// runs its lifespan shutdown.
func TestStopDrains(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "shutdown")
	t.Setenv("NAVE_TEST_SHUTDOWN_MARKER", marker)
	srv, h, _, _ := superviseApp(t, asgi.Config{Workers: 2})
	pids := h.Pids()
	got := make(chan int, 1)
	go func() { got <- get(t, srv, "/poll").Status }()
	time.Sleep(300 * time.Millisecond) // the poll is in the app
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if s := <-got; s != 200 {
		t.Errorf("the request in flight at Stop: got %d, want 200", s)
	}
	b, _ := os.ReadFile(marker)
	for _, pid := range pids {
		if !strings.Contains(string(b), "shut down "+strconv.Itoa(pid)) {
			t.Errorf("lifespan shutdown of %d: marker %q", pid, b)
		}
	}
}

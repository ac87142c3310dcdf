package workers

// A gateway for the Pool's tests: each worker is this test binary run
// again as a child (TestMain) that speaks lines over a socketpair on
// descriptor 3: it sends "ready", then, for each "job ID MS" it gets,
// "start ID", sleeps MS milliseconds and sends "done ID"; MS -1 makes it
// exit 7 instead. A sequential child runs its jobs in order, a concurrent
// one all at once.

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// childEnv selects the child's behaviour: "serve", "concurrent", "fail"
// (exits as an app that does not import), "hang" (never ready), "count"
// (prints WorkerCount(0) and exits).
const childEnv = "NAVE_WORKERS_TEST_CHILD"

// failIDEnv makes the worker with that id fail as "fail" does.
const failIDEnv = "NAVE_WORKERS_TEST_FAIL_ID"

// idEnv passes the worker's id to the child.
const idEnv = "NAVE_WORKERS_TEST_ID"

// failIfEnv names a file whose presence makes a serving child fail as
// "fail" does: code on disk that breaks, then is fixed.
const failIfEnv = "NAVE_WORKERS_TEST_FAIL_IF"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		runChild(mode)
		return
	}
	os.Exit(m.Run())
}

func runChild(mode string) {
	if f := os.Getenv(failIfEnv); f != "" {
		if _, err := os.Stat(f); err == nil {
			mode = "fail"
		}
	}
	if id := os.Getenv(failIDEnv); id != "" && id == os.Getenv(idEnv) {
		mode = "fail"
	}
	switch mode {
	case "count":
		fmt.Println(WorkerCount(0))
		os.Exit(0)
	case "fail":
		fmt.Fprintln(os.Stderr, "Traceback (most recent call last):")
		fmt.Fprintln(os.Stderr, "ImportError: no module named nope")
		os.Exit(3)
	case "hang":
		time.Sleep(time.Hour)
	}
	conn := os.NewFile(3, "socket")
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(conn, format+"\n", args...)
	}
	say("ready")
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		var id, ms int
		if _, err := fmt.Sscanf(sc.Text(), "job %d %d", &id, &ms); err != nil {
			os.Exit(5)
		}
		run := func() {
			say("start %d", id)
			if ms < 0 {
				os.Exit(7)
			}
			time.Sleep(time.Duration(ms) * time.Millisecond)
			say("done %d", id)
		}
		if mode == "concurrent" {
			go run()
		} else {
			run()
		}
	}
	os.Exit(0) // nave shut the socket: retired
}

// tJob is a job: MS is how long the child works on it; the outcome comes
// on res: "ok PID", "lost", "timeout", or "refused:" and the Refusal.
type tJob struct {
	ms   int
	res  chan string
	at   time.Time    // its arrival; zero is not counted
	long atomic.Int32 // WaitedLong calls
}

func (j *tJob) WaitedLong() { j.long.Add(1) }

func (j *tJob) Fail(why Refusal)   { j.res <- "refused:" + why.String() }
func (j *tJob) Size() int          { return 1 }
func (j *tJob) Arrival() time.Time { return j.at }

// tWorker is the gateway's side of one child.
type tWorker struct {
	h     *harness
	proc  *Process
	conn  *net.UnixConn
	ready chan struct{}
	prog  atomic.Uint64

	mu       sync.Mutex
	next     int           // guarded by mu
	jobs     map[int]*tJob // guarded by mu: held, by id
	started  map[int]bool  // guarded by mu
	detached bool          // guarded by mu
	held     int           // guarded by mu
	maxHeld  int           // guarded by mu
	assigned int           // guarded by mu: jobs ever assigned
}

type harness struct {
	t     *testing.T
	pool  *Pool[*tJob, *tWorker]
	log   *syncBuffer
	env   []string
	stuck chan *tWorker // Config.Stuck's calls

	mu      sync.Mutex
	workers []*tWorker // guarded by mu: every worker started
}

// newHarness returns a Pool of children in mode; cfg's Start, Logger and
// Stuck are set here. The Pool is killed when the test ends.
func newHarness(t *testing.T, mode string, cfg Config[*tJob, *tWorker], env ...string) *harness {
	t.Helper()
	h := &harness{t: t, log: new(syncBuffer), stuck: make(chan *tWorker, 16)}
	h.env = append(append(os.Environ(), env...), childEnv+"="+mode)
	cfg.Start = h.start
	cfg.Logger = slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Stuck = func(w *tWorker) { h.stuck <- w }
	cfg.ImportExit = 3
	cfg.App = "test:app"
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	h.pool = NewPool(cfg)
	t.Cleanup(func() {
		h.pool.Kill()
		if t.Failed() {
			t.Logf("log:\n%s", h.log.String())
		}
	})
	return h
}

func (h *harness) start(id int) (*tWorker, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "mine"), os.NewFile(uintptr(fds[1]), "theirs")
	defer theirs.Close()
	fc, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		return nil, err
	}
	w := &tWorker{h: h, conn: fc.(*net.UnixConn), ready: make(chan struct{}), jobs: map[int]*tJob{}, started: map[int]bool{}}
	w.proc, err = Start(Spec{
		ID: id, Path: os.Args[0], Env: append(h.env[:len(h.env):len(h.env)], fmt.Sprintf("%s=%d", idEnv, id)),
		ExtraFiles: []*os.File{theirs}, Logger: h.pool.log,
	})
	if err != nil {
		w.conn.Close()
		return nil, err
	}
	h.mu.Lock()
	h.workers = append(h.workers, w)
	h.mu.Unlock()
	go func() {
		<-w.proc.Exited()
		w.conn.Close()
	}()
	go w.read()
	return w, nil
}

func (w *tWorker) read() {
	sc := bufio.NewScanner(w.conn)
	for sc.Scan() {
		verb, arg, _ := strings.Cut(sc.Text(), " ")
		var id int
		fmt.Sscan(arg, &id)
		switch verb {
		case "ready":
			close(w.ready)
		case "start":
			w.mu.Lock()
			w.started[id] = true
			w.mu.Unlock()
			w.prog.Add(1)
		case "done":
			w.prog.Add(1)
			w.mu.Lock()
			j := w.jobs[id]
			delete(w.jobs, id)
			mine := j != nil && !w.detached
			if mine {
				w.held--
			}
			w.mu.Unlock()
			if mine {
				j.res <- fmt.Sprintf("ok %d", w.proc.Pid())
				w.h.pool.Done(w)
			}
		}
	}
}

func (w *tWorker) Process() *Process      { return w.proc }
func (w *tWorker) Ready() <-chan struct{} { return w.ready }
func (w *tWorker) Progress() uint64       { return w.prog.Load() }

func (w *tWorker) Assign(j *tJob) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.next++
	w.jobs[w.next] = j
	w.held++
	w.assigned++
	w.maxHeld = max(w.maxHeld, w.held)
	fmt.Fprintf(w.conn, "job %d %d\n", w.next, j.ms) // a few bytes: the socket's buffer takes them
}

func (w *tWorker) Detach(why Cause, again []*tJob) []*tJob {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.detached = true
	for id := 1; id <= w.next; id++ {
		j := w.jobs[id]
		switch {
		case j == nil:
		case w.started[id] && why == CauseTimeout:
			j.res <- "timeout"
		case w.started[id]:
			j.res <- "lost"
		default:
			again = append(again, j)
		}
	}
	clear(w.jobs)
	w.held = 0
	return again
}

func (w *tWorker) Retire() { w.conn.CloseWrite() }

// stats returns what w holds now, the most it held, and how many it got.
func (w *tWorker) stats() (held, maxHeld, assigned int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.held, w.maxHeld, w.assigned
}

// submit submits a job that takes ms in the child.
func (h *harness) submit(ms int) *tJob {
	h.t.Helper()
	j := &tJob{ms: ms, res: make(chan string, 1), at: time.Now()}
	if err := h.pool.Submit(j); err != nil {
		h.t.Fatalf("Submit: %v", err)
	}
	return j
}

// result waits for j's outcome.
func (h *harness) result(j *tJob) string {
	h.t.Helper()
	select {
	case r := <-j.res:
		return r
	case <-time.After(15 * time.Second):
		h.t.Fatal("no outcome")
		return ""
	}
}

// ok waits for j to succeed and returns the pid that served it.
func (h *harness) ok(j *tJob) int {
	h.t.Helper()
	r := h.result(j)
	var pid int
	if _, err := fmt.Sscanf(r, "ok %d", &pid); err != nil {
		h.t.Fatalf("outcome %q, want ok", r)
	}
	return pid
}

// worker returns the i-th worker started.
func (h *harness) worker(i int) *tWorker {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.workers[i]
}

// waitLog waits until the log has s.
func (h *harness) waitLog(s string) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(h.log.String(), s) {
		if time.Now().After(deadline) {
			h.t.Fatalf("log has no %q", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// gone waits until pid no longer runs.
func gone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

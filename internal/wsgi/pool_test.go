package wsgi_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"nave/internal/wiretest"
	"nave/internal/wsgi"
)

// pending is a request sent on its own connection, answered later.
type pending struct {
	c      *wiretest.Conn
	method string
	done   chan *wiretest.Response
}

func (g *gateway) start(t *testing.T, raw string) *pending {
	t.Helper()
	c := g.Dial(t)
	c.Send(raw)
	method, _, _ := strings.Cut(raw, " ")
	p := &pending{c: c, method: method, done: make(chan *wiretest.Response, 1)}
	go func() {
		r, err := c.TryRead(method)
		if err != nil {
			r = &wiretest.Response{Status: -1, Body: []byte(err.Error())}
		}
		p.done <- r
	}()
	return p
}

func (p *pending) wait(t *testing.T) *wiretest.Response {
	t.Helper()
	select {
	case r := <-p.done:
		return r
	case <-time.After(clientTimeout):
		t.Fatal("no response")
		return nil
	}
}

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n" }

func (g *gateway) pid(t *testing.T) int {
	t.Helper()
	r := g.get(t, "/pid")
	pid, err := strconv.Atoi(string(r.Body))
	if r.Status != 200 || err != nil {
		t.Fatalf("/pid: %d %q", r.Status, r.Body)
	}
	return pid
}

// queueBehind makes the single worker busy for a moment, then sends raws
// one by one, so that they wait in the queue in that order and travel to
// the worker as one batch.
func (g *gateway) queueBehind(t *testing.T, raws ...string) (busy *pending, ps []*pending) {
	t.Helper()
	busy = g.start(t, get("/sleep?0.4"))
	time.Sleep(100 * time.Millisecond)
	for _, raw := range raws {
		ps = append(ps, g.start(t, raw))
		time.Sleep(20 * time.Millisecond)
	}
	return busy, ps
}

// TestWorkerKilled: SIGKILL mid-request. The request in flight gets 502;
// one that ran before it in the same batch but whose reply was still
// buffered runs again (GET is safe to repeat); a POST that ran before it
// was answered at once; one that had not started goes to the new worker.
// The pool refills.
func TestWorkerKilled(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	pid := g.pid(t)
	busy, ps := g.queueBehind(t,
		get("/hello"),
		"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\npost",
		get("/sleep?30"),
		get("/method"),
	)
	if r := busy.wait(t); r.Status != 200 {
		t.Fatalf("busy: %d", r.Status)
	}
	post := ps[1].wait(t) // answered before the worker reached the sleep
	if post.Status != 200 || string(post.Body) != "post" {
		t.Errorf("POST: got %d %q", post.Status, post.Body)
	}
	time.Sleep(200 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if r := ps[2].wait(t); r.Status != 502 {
		t.Errorf("in flight: got %d, want 502", r.Status)
	}
	if r := ps[0].wait(t); r.Status != 200 || string(r.Body) != "Hello, world!\n" {
		t.Errorf("ran, reply lost, run again: got %d %q", r.Status, r.Body)
	}
	if r := ps[3].wait(t); r.Status != 200 || string(r.Body) != "GET" {
		t.Errorf("not started: got %d %q", r.Status, r.Body)
	}
	if p := g.pid(t); p == pid {
		t.Errorf("pool did not refill: same pid %d", p)
	}
	g.log.waitFor(t, "worker died")
}

// TestWorkerKilledIdle: a worker killed between requests is replaced, and
// a request that comes meanwhile waits for the replacement.
func TestWorkerKilledIdle(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	pid := g.pid(t)
	syscall.Kill(pid, syscall.SIGKILL)
	if p := g.pid(t); p == pid {
		t.Errorf("same pid %d", p)
	}
}

// TestAppExits: os._exit in the app is a dead worker: 502, replaced.
func TestAppExits(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	pid := g.pid(t)
	if r := g.get(t, "/exit"); r.Status != 502 {
		t.Errorf("/exit: got %d, want 502", r.Status)
	}
	if p := g.pid(t); p == pid {
		t.Errorf("same pid %d after os._exit", p)
	}
	g.log.waitFor(t, "exit status 7")
}

// TestTimeout: a request past the timeout gets 504, the worker's stack is
// logged, a new worker starts, and the request queued behind it in the
// same batch runs there.
func TestTimeout(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app", Timeout: time.Second}, wsgi.HandlerConfig{})
	pid := g.pid(t)
	start := time.Now()
	busy, ps := g.queueBehind(t, get("/sleep?60"), get("/method"))
	busy.wait(t)
	if r := ps[0].wait(t); r.Status != 504 {
		t.Errorf("stuck: got %d, want 504", r.Status)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("504 after %v", d)
	}
	if r := ps[1].wait(t); r.Status != 200 || string(r.Body) != "GET" {
		t.Errorf("queued behind: got %d %q", r.Status, r.Body)
	}
	g.log.waitFor(t, "request timed out")
	g.log.waitFor(t, "most recent call first") // faulthandler's dump
	g.log.waitFor(t, "probe.py")
	if p := g.pid(t); p == pid {
		t.Errorf("stuck worker not replaced: pid %d", p)
	}
	deadline := time.Now().Add(clientTimeout)
	for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("stuck worker %d still alive", pid)
	}
}

// TestMaxRequests: workers recycle after about MaxRequests requests, and
// no request fails across the recycling.
func TestMaxRequests(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app", MaxRequests: 4}, wsgi.HandlerConfig{})
	// Each recycling starts the new worker first: the old one serves on
	// until it is ready, so the pid changes some requests later.
	pids := map[int]bool{}
	deadline := time.Now().Add(clientTimeout)
	for n := 0; len(pids) < 3; n++ {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests with MaxRequests 4 saw %d workers", n, len(pids))
		}
		pids[g.pid(t)] = true // fails the test on any error status
		time.Sleep(10 * time.Millisecond)
	}
	g.log.waitFor(t, "recycling worker")
}

// TestQueuedClientGone: a request waiting for the busy worker whose client
// leaves is taken out of the queue: the app never runs it, and it is
// counted as abandoned; the request queued behind it is served.
func TestQueuedClientGone(t *testing.T) {
	// A timeout of 2 s: the pool tells a request it waited long after
	// 200 ms in the queue.
	g := startGateway(t, wsgi.Config{App: "probe:app", Timeout: 2 * time.Second}, wsgi.HandlerConfig{})
	busy := g.start(t, get("/sleep?1"))
	time.Sleep(100 * time.Millisecond)
	ps := []*pending{g.start(t, get("/mark?gone"))}
	time.Sleep(20 * time.Millisecond)
	ps = append(ps, g.start(t, get("/mark?kept")))
	time.Sleep(500 * time.Millisecond) // past two ticks: both watched
	ps[0].c.Close()
	g.log.waitFor(t, "client left while its request waited for a worker")
	busy.wait(t)
	if r := ps[1].wait(t); r.Status != 200 {
		t.Errorf("queued behind: got %d", r.Status)
	}
	if r := g.get(t, "/marks"); string(r.Body) != "kept" {
		t.Errorf("the app ran %q, want only kept", r.Body)
	}
	if s := g.pool.Stats(); s.Abandoned != 1 {
		t.Errorf("abandoned %d, want 1", s.Abandoned)
	}
}

// TestBacklogFull: with the worker busy and the backlog full, a request
// gets 503 with Retry-After at once; the queued ones are served.
func TestBacklogFull(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app", Backlog: 2}, wsgi.HandlerConfig{})
	busy, ps := g.queueBehind(t, get("/hello"), get("/hello"))
	r := g.get(t, "/hello")
	if r.Status != 503 || r.Get("Retry-After") != "1" {
		t.Errorf("backlog full: got %d, Retry-After %q", r.Status, r.Get("Retry-After"))
	}
	busy.wait(t)
	for _, p := range ps {
		if r := p.wait(t); r.Status != 200 {
			t.Errorf("queued: got %d", r.Status)
		}
	}
}

// TestAppOutput: print(), writes to descriptors 1 and 2 and wsgi.errors
// go to nave's log, tagged with the worker, and never into the protocol.
func TestAppOutput(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	for range 3 {
		if r := g.get(t, "/print"); r.Status != 200 || string(r.Body) != "printed" {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
	}
	for _, s := range []string{
		`worker=1 stream=stdout line="hello from print"`,
		`worker=1 stream=stdout line="straight to fd 1"`,
		`worker=1 stream=stderr line="straight to fd 2"`,
		`worker=1 stream=stderr line="to wsgi.errors"`,
	} {
		g.log.waitFor(t, s)
	}
	if r := g.get(t, "/hello"); r.Status != 200 {
		t.Errorf("after: got %d", r.Status)
	}
}

// TestFork: an app that forks does not corrupt the protocol: the child
// that comes back into the worker's loop exits quietly, a child that
// lives on does not hold the worker.
func TestFork(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	pid := g.pid(t)
	r := g.get(t, "/fork")
	if r.Status != 200 || string(r.Body) != "parent "+strconv.Itoa(pid) {
		t.Errorf("/fork: got %d %q", r.Status, r.Body)
	}
	if r := g.get(t, "/fork-daemon"); r.Status != 200 {
		t.Errorf("/fork-daemon: got %d", r.Status)
	}
	for range 5 {
		if p := g.pid(t); p != pid {
			t.Errorf("worker changed: %d, want %d", p, pid)
		}
	}
	if s := g.log.String(); strings.Contains(s, "protocol error") || strings.Contains(s, "worker died") {
		t.Errorf("log:\n%s", s)
	}
}

// TestImportFailure: an app that fails to import stops Start with its
// traceback and one line naming the exception; no retry.
func TestImportFailure(t *testing.T) {
	needPython(t)
	for _, tc := range []struct {
		app, reason string
	}{
		{"broken:app", "ModuleNotFoundError: No module named 'no_such_module_anywhere'"},
		{"probe:nonexistent", "AttributeError: module 'probe' has no attribute 'nonexistent'"},
		{"probe:STATE", "TypeError: probe:STATE is a dict, not a WSGI callable"},
		{"nosuchmodule", "ModuleNotFoundError: No module named 'nosuchmodule'"},
	} {
		p := wsgi.New(wsgi.Config{App: tc.app, Python: python, Dir: appsDir(t), Workers: 2})
		err := p.Start()
		var se *wsgi.StartError
		if !errors.As(err, &se) || !se.Import || se.Reason != tc.reason || !strings.Contains(se.Output, tc.reason) {
			t.Errorf("%s: got %v (%+v)", tc.app, err, se)
		}
		if strings.Contains(se.Output, `File "<stdin>"`) {
			t.Errorf("%s: the adapter's frames in the traceback:\n%s", tc.app, se.Output)
		}
		p.Kill()
	}
	p := wsgi.New(wsgi.Config{App: "probe:app", Python: "/nonexistent/python3", Workers: 1})
	var se *wsgi.StartError
	if err := p.Start(); !errors.As(err, &se) || se.Import {
		t.Errorf("missing interpreter: got %v", err)
	}
}

func writeApp(t *testing.T, dir, body string) {
	t.Helper()
	// A new mtime each time, so that Python does not reuse a stale .pyc.
	name := filepath.Join(dir, "versioned.py")
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "__pycache__"))
	future := time.Now().Add(time.Duration(len(body)) * time.Second)
	os.Chtimes(name, future, future)
}

const versionedApp = `import os

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Pid", str(os.getpid()))])
    return [b"%s"]
`

func appVersion(v string) string { return strings.Replace(versionedApp, "%s", v, 1) }

// TestReload: Reload swaps in workers running the code as it now is; with
// broken code it fails and the old workers keep serving.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	writeApp(t, dir, appVersion("v1"))
	g := startGateway(t, wsgi.Config{App: "versioned:app", Dir: dir, Workers: 2}, wsgi.HandlerConfig{})
	if r := g.get(t, "/"); string(r.Body) != "v1" {
		t.Fatalf("got %q", r.Body)
	}
	writeApp(t, dir, appVersion("v2 is longer"))
	if err := g.pool.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	for range 4 {
		if r := g.get(t, "/"); string(r.Body) != "v2 is longer" {
			t.Errorf("after reload: got %q", r.Body)
		}
	}
	writeApp(t, dir, "def app(:\n    syntax error, on purpose, and longer still")
	err := g.pool.Reload()
	var se *wsgi.StartError
	if !errors.As(err, &se) || !se.Import || !strings.Contains(se.Reason, "SyntaxError") {
		t.Errorf("broken reload: got %v", err)
	}
	for range 4 {
		if r := g.get(t, "/"); string(r.Body) != "v2 is longer" {
			t.Errorf("after a failed reload: got %q", r.Body)
		}
	}
}

// TestRestartBackoff: a worker that dies while the code on disk is broken
// is retried with growing back-off, logged, and the slot recovers when the
// code is fixed; a request that came meanwhile is served then.
func TestRestartBackoff(t *testing.T) {
	dir := t.TempDir()
	writeApp(t, dir, appVersion("ok"))
	g := startGateway(t, wsgi.Config{App: "versioned:app", Dir: dir, Timeout: -1}, wsgi.HandlerConfig{})
	pid := g.pid0(t)
	writeApp(t, dir, "raise RuntimeError('broken for now, and a longer body')")
	syscall.Kill(pid, syscall.SIGKILL)
	g.log.waitFor(t, "a worker failed to start; retrying")
	g.log.waitFor(t, "retry_in=200ms")
	waiting := g.start(t, get("/"))
	writeApp(t, dir, appVersion("fixed, with a body longer than before"))
	if r := waiting.wait(t); r.Status != 200 || string(r.Body) != "fixed, with a body longer than before" {
		t.Errorf("after recovery: got %d %q", r.Status, r.Body)
	}
}

// pid0 returns the pid of the worker that answers the versioned app.
func (g *gateway) pid0(t *testing.T) int {
	t.Helper()
	r := g.get(t, "/")
	pid, err := strconv.Atoi(r.Get("X-Pid"))
	if r.Status != 200 || err != nil {
		t.Fatalf("got %d, X-Pid %q", r.Status, r.Get("X-Pid"))
	}
	return pid
}

// TestStop: Stop lets the request in flight finish; afterwards requests
// get 503.
func TestStop(t *testing.T) {
	g := startGateway(t, wsgi.Config{App: "probe:app"}, wsgi.HandlerConfig{})
	p := g.start(t, get("/sleep?0.5"))
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.pool.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if r := p.wait(t); r.Status != 200 || string(r.Body) != "slept" {
		t.Errorf("in flight: got %d %q", r.Status, r.Body)
	}
	if r := g.get(t, "/hello"); r.Status != 503 {
		t.Errorf("after Stop: got %d, want 503", r.Status)
	}
}

// TestWorkerEnv: Env reaches the app's os.environ on top of nave's own,
// the last of a repeated key winning.
func TestWorkerEnv(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "envapp.py"), []byte(`import os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(os.environ.get("NAVE_TEST_GREETING", "-") + "|" + os.environ.get("NAVE_TEST_INHERITED", "-")).encode()]
`), 0o644)
	t.Setenv("NAVE_TEST_INHERITED", "from nave")
	g := startGateway(t, wsgi.Config{App: "envapp:app", Dir: dir, Env: []string{"NAVE_TEST_GREETING=hi", "NAVE_TEST_GREETING=hello"}}, wsgi.HandlerConfig{})
	if r := g.get(t, "/"); r.Status != 200 || string(r.Body) != "hello|from nave" {
		t.Errorf("got %d %q, want hello|from nave", r.Status, r.Body)
	}
}

// TestStartTimeout: a worker that does not say READY in time fails the
// start, and is killed.
func TestStartTimeout(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "slow.py"), []byte("import time\ntime.sleep(30)\napp = None\n"), 0o644)
	p := wsgi.New(wsgi.Config{App: "slow:app", Python: python, Dir: dir, Workers: 1, StartTimeout: 300 * time.Millisecond})
	start := time.Now()
	err := p.Start()
	var se *wsgi.StartError
	if !errors.As(err, &se) || se.Import || !strings.Contains(se.Reason, "not ready within 300ms") {
		t.Errorf("got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Start took %v", d)
	}
	p.Kill()
}

// TestAdapterPython38: the adapter must run on CPython 3.8 (the issue's
// floor); Debian ships 3.11, so at least its grammar is checked as 3.8's.
func TestAdapterPython38(t *testing.T) {
	needPython(t)
	out, err := exec.Command(python, "-c",
		"import ast, sys; ast.parse(open(sys.argv[1]).read(), feature_version=(3, 8))", "adapter.py").CombinedOutput()
	if err != nil {
		t.Errorf("adapter.py is not Python 3.8: %v\n%s", err, out)
	}
}

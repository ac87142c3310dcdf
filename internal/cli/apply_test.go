package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"nave/internal/config"
	"nave/internal/wiretest"
)

// shortTempDir is a temporary folder with a path short enough for a Unix
// socket in it (t.TempDir's can pass 108 bytes), removed when the test
// ends.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nave")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// liveApp answers with its worker's pid; /slow after a second; /events is
// a server-sent event stream that never ends.
const liveApp = `import os, time

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/events":
        start_response("200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        def events():
            i = 0
            while True:
                yield ("data: %d %d\n\n" % (os.getpid(), i)).encode()
                i += 1
                time.sleep(0.02)
        return events()
    if path == "/slow":
        time.sleep(1)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
`

// liveVars are what the tests change between two configs.
type liveVars struct {
	respond  string // the /gen route's body
	aMax     int    // app a's max_requests: a change replaces the app
	aModule  string // app a's module
	extra    string // the address of a listener "extra", "" for none
	third    bool   // a listener "third"
	cacheCtl string // the /files/ route's cache_control
	idle     string // timeouts.idle: a change gives every listener a new server
	// The load test's extras: an ASGI app c under /c/ (liveASGI in
	// folder asgi), and proxy routes /up/ and /wsup/ to these upstreams.
	asgi         bool
	upHTTP, upWS string
}

// liveConfig is a site of two apps (a, b), a folder, a fixed response and
// a second folder route, on listener main and the ones vars name.
func liveConfig(t *testing.T, dir string, v liveVars) *config.Config {
	t.Helper()
	if v.aModule == "" {
		v.aModule = "app:app"
	}
	if v.idle == "" {
		v.idle = "75s"
	}
	text := fmt.Sprintf(`
[listeners.main]
address = "127.0.0.1:0"

[log]
access = "off"

[timeouts]
drain = "10s"
idle = %q

[apps.a]
module = %q
python = %q
chdir = "app"
workers = 2
max_requests = %d

[apps.b]
module = "app:app"
python = %q
chdir = "app"
workers = 2
timeout = "off" # its event stream runs as long as a test does

[sites.s]
[[sites.s.routes]]
match = { path = "/a/" }
app = "a"
[[sites.s.routes]]
match = { path = "/b/" }
app = "b"
[[sites.s.routes]]
match = { path = "/gen" }
respond = %q
[[sites.s.routes]]
match = { path = "/files/" }
root = "www"
cache_control = %q
`, v.idle, v.aModule, testPython, v.aMax, testPython, v.respond, v.cacheCtl)
	if v.extra != "" {
		text += fmt.Sprintf("[listeners.extra]\naddress = %q\n", v.extra)
	}
	if v.third {
		text += "[listeners.third]\naddress = \"127.0.0.1:0\"\n"
	}
	text += liveExtras(v) + "[[sites.s.routes]]\nroot = \"www\"\n"
	c, err := config.Parse([]byte(text), config.TOML, dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// liveSite writes the app and the folder liveConfig serves.
func liveSite(t *testing.T) string {
	t.Helper()
	needPython(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "app"), 0o755)
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "app", "app.py"), []byte(liveApp), 0o644)
	os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("ok\n"), 0o644)
	return dir
}

// startLive builds c and serves it until the test ends.
func startLive(t *testing.T, c *config.Config) *built {
	t.Helper()
	stderr := new(syncBuffer)
	b, err := build(context.Background(), c, nil, false, io.Discard, stderr)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, stderr)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		b.serve(ctx, io.Discard)
		b.close()
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr)
		}
	})
	return b
}

// addr is the address the named listener serves on.
func (b *built) addr(name string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.listeners.Running(name)
	if !ok {
		return ""
	}
	return l.ln.Addr().String()
}

// client makes GET requests over one kept-alive connection (or a new
// connection each time), failing on anything but a whole 200.
type client struct {
	addr      string
	keepAlive bool
	nc        net.Conn
	br        *bufio.Reader
}

func (c *client) get(path string) (string, error) {
	if c.nc == nil {
		nc, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return "", err
		}
		c.nc, c.br = nc, bufio.NewReader(nc)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n"
	if !c.keepAlive {
		req = "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	}
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.nc, req); err != nil {
		return "", err
	}
	r, err := wiretest.ReadResponse(c.br, "GET")
	switch {
	case err != nil:
	case r.Closed:
		err = errors.New("the connection closed inside the response")
	case r.Status != 200:
		err = fmt.Errorf("status %d: %q", r.Status, r.Body)
	case r.Close && c.keepAlive:
		err = errors.New("the server closed a kept-alive connection")
	}
	if err != nil || !c.keepAlive {
		c.close()
	}
	if err != nil {
		return "", err
	}
	return string(r.Body), nil
}

func (c *client) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

// mustGet is get on a new connection, failing the test on an error.
func mustGet(t *testing.T, addr, path string) string {
	t.Helper()
	c := &client{addr: addr}
	body, err := c.get(path)
	if err != nil {
		t.Fatalf("GET %s on %s: %v", path, addr, err)
	}
	return body
}

// pids are the worker pids that n requests to an app's /pid find.
func pids(t *testing.T, addr, prefix string, n int) []string {
	t.Helper()
	var out []string
	for range n {
		if pid := mustGet(t, addr, prefix+"pid"); !slices.Contains(out, pid) {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// stream is a server-sent event stream being read: each event is the
// worker's pid and a count.
type stream struct {
	nc   net.Conn
	br   *bufio.Reader
	pid  string
	last int
}

func openStream(t *testing.T, addr, path string) *stream {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	io.WriteString(nc, "GET "+path+" HTTP/1.1\r\nHost: t\r\n\r\n")
	s := &stream{nc: nc, br: bufio.NewReader(nc), last: -1}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	head, err := s.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "HTTP/1.1 200 ") {
		t.Fatalf("stream: %q, %v", head, err)
	}
	for line := ""; line != "\r\n"; {
		if line, err = s.br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// next reads events until one numbered past the last, and fails if one is
// missing or the stream ended.
func (s *stream) next() error {
	s.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("the stream ended after event %d: %v", s.last, err)
		}
		if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			pid, n, _ := strings.Cut(data, " ")
			i, _ := strconv.Atoi(n)
			if s.pid != "" && pid != s.pid {
				return fmt.Errorf("event %d came from worker %s, not %s", i, pid, s.pid)
			}
			s.pid = pid
			if i != s.last+1 && s.last >= 0 {
				return fmt.Errorf("event %d after %d", i, s.last)
			}
			s.last = i
			return nil
		}
	}
}

// alive reports whether a process is running.
func alive(pid string) bool {
	n, _ := strconv.Atoi(pid)
	return syscall.Kill(n, 0) == nil
}

// children are the pids of this process's children.
func children(t *testing.T) []string {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var out []string
	self := strconv.Itoa(os.Getpid())
	for _, e := range entries {
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ")".
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == self && fields[0] != "Z" {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestApplyKeepsWhatIsUnchanged: a new config changes app a, a respond
// route and a folder route's options, removes a listener and adds one.
// The unchanged app keeps its worker processes and its event stream; the
// unchanged folder keeps its handler; a kept-alive connection on the
// unchanged listener goes on, answered by the new routes; app a's new
// workers start first and a request in flight on its old ones finishes
// there, through the removed listener, which then drains and closes; the
// old workers exit.
func TestApplyKeepsWhatIsUnchanged(t *testing.T) {
	dir := liveSite(t)
	v := liveVars{respond: "one", extra: "127.0.0.1:0", cacheCtl: "max-age=1"}
	b := startLive(t, liveConfig(t, dir, v))
	main, extra := b.addr("main"), b.addr("extra")

	kept := &client{addr: main, keepAlive: true}
	if body, err := kept.get("/gen"); body != "one" || err != nil {
		t.Fatalf("before: %q, %v", body, err)
	}
	events := openStream(t, main, "/b/events")
	events.next()
	// The stream holds one of app b's two workers: the other takes the rest.
	pidsB := pids(t, main, "/b/", 10)
	before := children(t)
	pidsA := slices.DeleteFunc(slices.Clone(before), func(p string) bool { return slices.Contains(pidsB, p) || p == events.pid })
	folders := b.statics.All()
	slow := make(chan string, 1)
	go func() {
		body, err := (&client{addr: extra}).get("/a/slow")
		if err != nil {
			body = err.Error()
		}
		slow <- body
	}()
	time.Sleep(200 * time.Millisecond) // the slow request is in app a

	v2 := liveVars{respond: "two", aMax: 1000, third: true, cacheCtl: "max-age=2"}
	if err := b.apply(liveConfig(t, dir, v2)); err != nil {
		t.Fatal(err)
	}

	if body, err := kept.get("/gen"); body != "two" || err != nil {
		t.Errorf("the kept-alive connection after the apply: %q, %v; want the new route's answer", body, err)
	}
	for range 5 {
		if err := events.next(); err != nil {
			t.Fatalf("app b's stream: %v", err)
		}
	}
	if got := pids(t, main, "/b/", 10); !isSubset(got, pidsB) {
		t.Errorf("app b's workers: %v, were %v: an unchanged app's workers were replaced", got, pidsB)
	}
	for _, p := range pids(t, main, "/a/", 10) {
		if slices.Contains(before, p) {
			t.Errorf("app a answered from old worker %s after its config changed", p)
		}
	}
	if body := <-slow; !slices.Contains(pidsA, body) {
		t.Errorf("the request in flight on the old app a: got %q, want a pid of %v", body, pidsA)
	}
	after := b.statics.All()
	unchanged := 0
	for k, h := range after {
		if folders[k] == h {
			unchanged++
		}
	}
	if len(after) != 2 || unchanged != 1 {
		t.Errorf("folders: %d handlers, %d kept; want 2 and 1 (the unchanged route's)", len(after), unchanged)
	}
	if body := mustGet(t, b.addr("third"), "/gen"); body != "two" {
		t.Errorf("the new listener: %q", body)
	}
	waitFor(t, "the removed listener still accepts", func() bool {
		c, err := net.Dial("tcp", extra)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	waitFor(t, "app a's old workers still run", func() bool {
		return !slices.ContainsFunc(pidsA, alive)
	})
	if err := events.next(); err != nil {
		t.Errorf("app b's stream at the end: %v", err)
	}
	st := b.status()
	if m := st.Listeners["main"]; m.Connections < 1 || m.Requests < 30 || st.Apps["b"].Workers != 2 || st.Apps["b"].Inside != 1 || st.Config.Applied != 2 {
		t.Errorf("status: %+v", st)
	}
}

func isSubset(a, of []string) bool {
	for _, x := range a {
		if !slices.Contains(of, x) {
			return false
		}
	}
	return true
}

// TestApplyRollsBack: a config whose listener cannot listen, or whose app
// does not import, is refused with the field named; what it started is
// stopped, and the running config serves on with the same workers.
func TestApplyRollsBack(t *testing.T) {
	dir := liveSite(t)
	v := liveVars{respond: "one"}
	b := startLive(t, liveConfig(t, dir, v))
	main := b.addr("main")
	procs := children(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	for _, tt := range []struct {
		name string
		v    liveVars
		path string
		msg  string
	}{
		{"address in use", liveVars{respond: "two", aMax: 7, extra: taken.Addr().String()},
			"listeners.extra.address", "address already in use"},
		{"bad import", liveVars{respond: "two", aModule: "no_such_module:app", third: true},
			"apps.a.module", "cannot import app 'no_such_module:app': ModuleNotFoundError"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := b.apply(liveConfig(t, dir, tt.v))
			var l config.List
			var ae *applyError
			switch {
			case errors.As(err, &l) && len(l) == 1:
				if l[0].Path != tt.path || !strings.Contains(l[0].Msg, tt.msg) {
					t.Errorf("got %v, want %s: ...%s...", err, tt.path, tt.msg)
				}
			case errors.As(err, &ae):
				if ae.Path != tt.path || !strings.Contains(ae.Err.Error(), tt.msg) {
					t.Errorf("got %s: %v, want %s: ...%s...", ae.Path, ae.Err, tt.path, tt.msg)
				}
			default:
				t.Fatalf("got %v, want an error at %s", err, tt.path)
			}
			if body := mustGet(t, main, "/gen"); body != "one" {
				t.Errorf("after the refused config: %q, want the running config's", body)
			}
			if got := pids(t, main, "/a/", 10); !isSubset(got, procs) {
				t.Errorf("app a's workers: %v, not among %v", got, procs)
			}
			waitFor(t, "the refused config's processes still run", func() bool {
				return slices.Equal(children(t), procs)
			})
			if b.addr("third") != "" || b.addr("extra") != "" {
				t.Error("a listener of the refused config stayed")
			}
		})
	}
}

// TestApplyNewServerSameSocket: a change to the server-wide timeouts gives
// the listener a new server on the same socket (port 0 stays the port it
// was): clients connecting all along are all answered, and the old
// server drains, closing its idle connection.
func TestApplyNewServerSameSocket(t *testing.T) {
	dir := liveSite(t)
	b := startLive(t, liveConfig(t, dir, liveVars{respond: "0"}))
	main := b.addr("main")
	idle := &client{addr: main, keepAlive: true}
	if _, err := idle.get("/gen"); err != nil {
		t.Fatal(err)
	}
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			c := &client{addr: main}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.get("/index.html"); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		})
	}
	for i := range 10 {
		time.Sleep(50 * time.Millisecond)
		v := liveVars{respond: strconv.Itoa(i + 1), idle: strconv.Itoa(60+i) + "s"}
		if err := b.apply(liveConfig(t, dir, v)); err != nil {
			t.Fatal(err)
		}
		if got := b.addr("main"); got != main {
			t.Fatalf("apply %d moved the listener from %s to %s", i, main, got)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Errorf("%d of %d new connections failed across 10 new servers; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	if body := mustGet(t, main, "/gen"); body != "10" {
		t.Errorf("after the applies: %q", body)
	}
	idle.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := idle.br.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("the idle connection of the first server: read %d, %v; want it closed by the drain", n, err)
	}
}

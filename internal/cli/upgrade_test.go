package cli

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// load sends GET requests to a URL from three clients until stopped:
// HTTP/1.1 over kept-alive connections, HTTP/1.1 on a new connection each,
// and HTTP/2 in the clear (h2c), counting answers that are not 200 with
// the body wanted, and errors, as failures. Each loop is bounded in count
// and time.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string // the first few failures; guarded by mu
	stop       chan struct{}
	wg         sync.WaitGroup
}

const (
	loadMaxRequests = 200_000 // per client
	loadMaxTime     = 2 * time.Minute
)

func startLoad(url string, want func(body string) bool) *load {
	l := &load{stop: make(chan struct{})}
	var h2 http.Protocols
	h2.SetUnencryptedHTTP2(true)
	clients := []*http.Client{
		{Transport: &http.Transport{MaxIdleConnsPerHost: 2}},
		{Transport: &http.Transport{DisableKeepAlives: true}},
		{Transport: &http.Transport{Protocols: &h2}},
	}
	for i, c := range clients {
		c.Timeout = 20 * time.Second
		for range 2 {
			l.wg.Go(func() { l.run(c, i, url, want) })
		}
	}
	return l
}

func (l *load) run(c *http.Client, kind int, url string, want func(string) bool) {
	deadline := time.Now().Add(loadMaxTime)
	for n := 0; n < loadMaxRequests && time.Now().Before(deadline); n++ {
		select {
		case <-l.stop:
			return
		default:
		}
		resp, err := c.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr != nil:
				err = rerr
			case resp.StatusCode != 200 || !want(string(body)):
				err = fmt.Errorf("%s %q", resp.Status, body)
			}
		}
		if err == nil {
			l.ok.Add(1)
			continue
		}
		l.failed.Add(1)
		l.mu.Lock()
		if len(l.errs) < 10 {
			l.errs = append(l.errs, fmt.Sprintf("client %d: %v", kind, err))
		}
		l.mu.Unlock()
	}
}

// progress waits until n more requests have succeeded.
func (l *load) progress(t *testing.T, n int64) {
	t.Helper()
	target := l.ok.Load() + n
	waitFor(t, fmt.Sprintf("%d more answers", n), func() bool { return l.ok.Load() >= target })
}

// finish stops the clients and reports what failed.
func (l *load) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("%d requests answered, %d failed", l.ok.Load(), l.failed.Load())
	if f := l.failed.Load(); f > 0 {
		t.Errorf("%d requests failed, first: %s", f, strings.Join(l.errs, "; "))
	}
}

// upgradable is a nave started from a copy of the binary in a folder of
// its own, so that the test can replace the file and send SIGUSR2. Its
// output goes to files, not pipes: the new nave inherits them and writes
// on after the old one exits.
type upgradable struct {
	path   string
	cmd    *exec.Cmd
	exited chan struct{}
	stderr string // the file
	stdout string
}

func startUpgradable(t *testing.T, args ...string) *upgradable {
	t.Helper()
	dir := t.TempDir()
	u := &upgradable{path: filepath.Join(dir, "nave"), exited: make(chan struct{}),
		stderr: filepath.Join(dir, "stderr"), stdout: filepath.Join(dir, "stdout")}
	u.install(t, buildNave(t))
	out, err := os.Create(u.stdout)
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(u.stderr)
	if err != nil {
		t.Fatal(err)
	}
	u.cmd = exec.Command(u.path, args...)
	u.cmd.Stdout, u.cmd.Stderr = out, errf
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	errf.Close()
	go func() { u.cmd.Wait(); close(u.exited) }()
	t.Cleanup(func() {
		u.cmd.Process.Kill()
		<-u.exited
		for _, pid := range u.successors() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if t.Failed() {
			t.Logf("nave's stderr:\n%s", u.output(u.stderr))
		}
	})
	return u
}

// install puts the file src at nave's path, as a package manager does: a
// new file renamed over the old.
func (u *upgradable) install(t *testing.T, src string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := u.path + ".new"
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, u.path); err != nil {
		t.Fatal(err)
	}
}

// script makes a shell script that stands in for a broken binary.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "broken")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func (u *upgradable) output(file string) string {
	data, _ := os.ReadFile(file)
	return string(data)
}

// waitOutput waits until the file's text matches re, and returns the
// first submatch.
func (u *upgradable) waitOutput(t *testing.T, file string, re *regexp.Regexp) string {
	t.Helper()
	var m []string
	waitFor(t, "nave to print "+re.String(), func() bool {
		m = re.FindStringSubmatch(u.output(file))
		return m != nil
	})
	if len(m) > 1 {
		return m[1]
	}
	return ""
}

var successorPid = regexp.MustCompile(`the new nave is ready.* pid=(\d+)`)

// successors are the pids of the naves this one handed over to.
func (u *upgradable) successors() []int {
	var pids []int
	for _, m := range successorPid.FindAllStringSubmatch(u.output(u.stderr), -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	return pids
}

// count is how many times s is in the file's text.
func (u *upgradable) count(file, s string) int { return strings.Count(u.output(file), s) }

// signalAndWait sends SIGUSR2 and waits for the n-th line with s.
func (u *upgradable) upgrade(t *testing.T, s string) {
	t.Helper()
	n := u.count(u.stderr, s) + 1
	if err := u.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fmt.Sprintf("%q in nave's log", s), func() bool { return u.count(u.stderr, s) >= n })
}

func (u *upgradable) running() bool {
	select {
	case <-u.exited:
		return false
	default:
		return true
	}
}

// TestBinaryUpgrade: under steady load (HTTP/1.1 kept alive and on new
// connections, and h2c), SIGUSR2 with a binary that exits at start, then
// with one that never says it is ready, fails without a failed request
// and leaves the old nave serving; with a working binary, the new nave
// takes the sockets (the metrics one too, with its probes, and the status
// page's), the old one drains and exits 0, and no request fails across it.
func TestBinaryUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	site := t.TempDir()
	os.WriteFile(filepath.Join(site, "index.html"), []byte("served\n"), 0o644)
	u := startUpgradable(t, "serve", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--status", "127.0.0.1:0",
		"--access-log", "off", "--upgrade-timeout", "3s", site)
	addr := u.waitOutput(t, u.stdout, regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`))
	metrics := u.waitOutput(t, u.stdout, regexp.MustCompile(`Metrics at http://(127\.0\.0\.1:\d+)/metrics`))
	status := u.waitOutput(t, u.stdout, regexp.MustCompile(`Status page at http://(127\.0\.0\.1:\d+)/`))
	l := startLoad("http://"+addr+"/", func(b string) bool { return b == "served\n" })
	defer l.finish(t)
	l.progress(t, 300)

	u.install(t, script(t, `echo "nave: config.toml:3: cannot start" >&2; exit 3`))
	u.upgrade(t, "upgrade failed; this nave serves on")
	if got := u.output(u.stderr); !strings.Contains(got, "exited before it was ready (exit status 3)") || !strings.Contains(got, "cannot start") {
		t.Errorf("the failed upgrade's log does not say why: %q", got)
	}
	l.progress(t, 300)

	u.install(t, script(t, "exec sleep 60"))
	u.upgrade(t, "upgrade failed; this nave serves on")
	if got := u.output(u.stderr); !strings.Contains(got, "was not ready in time") {
		t.Errorf("the timed-out upgrade's log does not say why: %q", got)
	}
	l.progress(t, 300)
	if !u.running() {
		t.Fatal("the old nave exited after failed upgrades")
	}

	u.install(t, buildNave(t))
	u.upgrade(t, "the new nave is ready")
	select {
	case <-u.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the old nave did not exit after the hand-over")
	}
	if code := u.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the old nave exited %d", code)
	}
	if !strings.Contains(u.output(u.stderr), "handed over to the new nave") {
		t.Errorf("the old nave's log does not say it handed over: %q", u.output(u.stderr))
	}
	l.progress(t, 300) // from the new nave alone
	if status, body := waitGet(t, "http://"+metrics+"/readyz"); status != 200 || body != "ok\n" {
		t.Errorf("the new nave's /readyz: %d %q", status, body)
	}
	if code, body := waitGet(t, "http://"+status+"/status"); code != 200 || !strings.Contains(body, "{") {
		t.Errorf("the new nave's status page: %d %q", code, body)
	}
	if pids := u.successors(); len(pids) != 1 || syscall.Kill(pids[0], 0) != nil {
		t.Errorf("successors %v, want one, running", pids)
	}
}

const upgradeApp = `import asyncio, os, time

def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        with open(os.environ["NAVE_TEST_MARK"], "w") as f:
            f.write("in flight")
        time.sleep(float(environ["QUERY_STRING"]))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]

async def asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        with open(os.environ["NAVE_TEST_MARK"], "w") as f:
            f.write("in flight")
        await asyncio.sleep(float(scope["query_string"]))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
`

// TestBinaryUpgradeApps: a nave wsgi or nave asgi upgraded under load
// starts its own workers before it says it is ready, so that no request
// fails; the old nave's request in flight (a slow one, begun before the
// signal) finishes on its old worker, with Connection: close, and the old
// workers stop with the old nave.
func TestBinaryUpgradeApps(t *testing.T) {
	needPython(t)
	t.Run("wsgi", func(t *testing.T) { testUpgradeApp(t, "wsgi", "app:app") })
	t.Run("asgi", func(t *testing.T) { testUpgradeApp(t, "asgi", "app:asgi") })
}

func testUpgradeApp(t *testing.T, command, app string) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.py"), []byte(upgradeApp), 0o644)
	mark := filepath.Join(dir, "mark")
	t.Setenv("NAVE_TEST_MARK", mark)
	u := startUpgradable(t, command, "--listen", "127.0.0.1:0", "--python", testPython, "--access-log", "off",
		"--workers", "2", "--chdir", dir, app)
	addr := u.waitOutput(t, u.stdout, regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`))
	old := pids(t, addr, "/", 10)
	isPid := regexp.MustCompile(`^\d+$`)
	l := startLoad("http://"+addr+"/", isPid.MatchString)
	defer l.finish(t)
	l.progress(t, 100)

	type answer struct {
		pid   string
		close bool // Connection: close
		err   error
	}
	slow := make(chan answer, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Get("http://" + addr + "/slow?3")
		if err != nil {
			slow <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		slow <- answer{string(body), resp.Close, err}
	}()
	waitFor(t, "the slow request to reach a worker", func() bool { _, err := os.Stat(mark); return err == nil })
	u.upgrade(t, "the new nave is ready")
	<-u.exited
	a := <-slow
	if a.err != nil || !isPid.MatchString(a.pid) || !a.close {
		t.Errorf("the slow request in flight: pid %q, Connection: close %v, err %v", a.pid, a.close, a.err)
	}
	l.progress(t, 100)
	old = append(old, a.pid)
	for _, p := range pids(t, addr, "/", 10) {
		if slices.Contains(old, p) {
			t.Errorf("worker %s of the old nave (workers %v) still answers", p, old)
		}
	}
	for _, p := range old {
		if alive(p) {
			t.Errorf("the old nave's worker %s outlived it", p)
		}
	}
}

// TestBinaryUpgradeRun: nave run hands its admin socket over with its
// listeners, and the new nave reads the config file as it is now: a
// listener the file dropped is closed, one it moved gets a new socket,
// the others keep theirs (port 0 too). The old nave leaves the admin
// socket's file in place, and nave reload reaches the new one through it.
func TestBinaryUpgradeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir, state := t.TempDir(), shortTempDir(t)
	file := filepath.Join(dir, "nave.toml")
	free, err := net.Listen("tcp", "127.0.0.1:0") // a free port, for the moved listener
	if err != nil {
		t.Fatal(err)
	}
	moved := free.Addr().String()
	free.Close()
	config := func(text string, listeners ...string) {
		c := "[log]\naccess = \"off\"\n[[sites.main.routes]]\nrespond = \"" + text + "\\n\"\n"
		for _, l := range listeners {
			c += "[listeners." + l + "\n"
		}
		if err := os.WriteFile(file, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config("first", `main]`+"\naddress = \"127.0.0.1:0\"", `dropped]`+"\naddress = \"127.0.0.1:0\"",
		`mover]`+"\naddress = \"127.0.0.1:0\"")
	u := startUpgradable(t, "run", "--config", file, "--state-dir", state)
	listening := regexp.MustCompile(`Listening as (\w+) on .* \(http://(127\.0\.0\.1:\d+)/\)`)
	addrs := map[string]string{}
	waitFor(t, "three listeners", func() bool {
		for _, m := range listening.FindAllStringSubmatch(u.output(u.stdout), -1) {
			addrs[m[1]] = m[2]
		}
		return len(addrs) == 3
	})
	config("second", `main]`+"\naddress = \"127.0.0.1:0\"", `mover]`+"\naddress = \""+moved+"\"")
	u.upgrade(t, "the new nave is ready")
	<-u.exited
	if status, body := waitGet(t, "http://"+addrs["main"]+"/"); status != 200 || body != "second\n" {
		t.Errorf("main after the upgrade: %d %q", status, body)
	}
	if status, body := waitGet(t, "http://"+moved+"/"); status != 200 || body != "second\n" {
		t.Errorf("the moved listener at its new address: %d %q", status, body)
	}
	for _, gone := range []string{addrs["dropped"], addrs["mover"]} {
		if c, err := net.DialTimeout("tcp", gone, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts after the upgrade", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(state, AdminSocketName)); err != nil {
		t.Fatalf("the admin socket is gone after the hand-over: %v", err)
	}
	config("third", `main]`+"\naddress = \"127.0.0.1:0\"", `mover]`+"\naddress = \""+moved+"\"")
	if code, out, errOut := runCommand(buildNave(t), "reload", "--state-dir", state); code != 0 {
		t.Fatalf("nave reload: exit %d: %s %s", code, out, errOut)
	}
	if status, body := waitGet(t, "http://"+addrs["main"]+"/"); status != 200 || body != "third\n" {
		t.Errorf("after the reload: %d %q", status, body)
	}
}

// notification is a datagram to the notify socket with its sender's pid,
// as systemd reads it (SO_PASSCRED).
type notification struct {
	state string
	pid   int
}

// credentialedNotifications listens as systemd's notify socket does,
// with the sender's credentials on each message.
func credentialedNotifications(t *testing.T) (string, <-chan notification) {
	t.Helper()
	sock := filepath.Join(shortTempDir(t), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1) })
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan notification, 100)
	go func() {
		buf, oob := make([]byte, 1024), make([]byte, 1024)
		for {
			n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			nt := notification{state: string(buf[:n])}
			if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) > 0 {
				if cred, err := syscall.ParseUnixCredentials(&msgs[0]); err == nil {
					nt.pid = int(cred.Pid)
				}
			}
			out <- nt
		}
	}()
	return sock, out
}

func expectNotification(t *testing.T, ch <-chan notification, prefix string) notification {
	t.Helper()
	select {
	case n := <-ch:
		if !strings.HasPrefix(n.state, prefix) {
			t.Fatalf("systemd was told %q by pid %d, want %q", n.state, n.pid, prefix)
		}
		return n
	case <-time.After(20 * time.Second):
		t.Fatalf("systemd was not told %q", prefix)
	}
	return notification{}
}

// TestBinaryUpgradeNotifiesSystemd: under a service manager, the old nave
// says READY=1, then MAINPID= with the new one's pid once it is ready, and
// the new nave, now the main process, is the one that says STOPPING=1
// later; the new nave's own READY=1 went to the old one, not to the
// manager.
func TestBinaryUpgradeNotifiesSystemd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	sock, notes := credentialedNotifications(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	u := startUpgradable(t, "serve", "--listen", "127.0.0.1:0", "--access-log", "off")
	ready := expectNotification(t, notes, "READY=1")
	if ready.pid != u.cmd.Process.Pid {
		t.Errorf("READY=1 came from pid %d, want nave's %d", ready.pid, u.cmd.Process.Pid)
	}
	u.upgrade(t, "the new nave is ready")
	main := expectNotification(t, notes, "MAINPID=")
	successor, _ := strconv.Atoi(strings.TrimPrefix(main.state, "MAINPID="))
	if pids := u.successors(); len(pids) != 1 || pids[0] != successor || main.pid != u.cmd.Process.Pid {
		t.Fatalf("MAINPID=%d from pid %d; want the successor %v, from the old nave %d", successor, main.pid, pids, u.cmd.Process.Pid)
	}
	<-u.exited
	syscall.Kill(successor, syscall.SIGTERM)
	if stop := expectNotification(t, notes, "STOPPING=1"); stop.pid != successor {
		t.Errorf("STOPPING=1 came from pid %d, want the new nave %d", stop.pid, successor)
	}
}

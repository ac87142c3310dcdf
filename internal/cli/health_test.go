package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"nave/internal/acme/pebbletest"
)

// TestBinaryDrainDelay: /readyz says ok, and lists its checks with
// ?verbose, once nave serves; from SIGTERM on it fails at once while the
// listener goes on taking new connections and answering them for
// --drain-delay (the time a load balancer takes to notice); /livez stays
// ok throughout. A second signal ends the wait.
func TestBinaryDrainDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	site := t.TempDir()
	os.WriteFile(filepath.Join(site, "index.html"), []byte("files\n"), 0o644)
	main, metrics := openSocket(t, "main"), openSocket(t, "metrics")
	cmd := activate(t, false, []passedSocket{main, metrics}, "serve", "--metrics", "127.0.0.1:1", "--drain-delay", "60s",
		"--access-log", "off", site)
	_, stderr := startCommand(t, cmd)
	main.file.Close() // nave's copy is the only one
	probe := "http://" + metrics.addr
	if status, body := waitGet(t, probe+"/readyz"); status != 200 || body != "ok\n" {
		t.Fatalf("/readyz: %d %q", status, body)
	}
	want := "[+]started ok\n[+]draining ok\n[+]listeners ok\n[+]certificates ok\n[+]apps ok\nreadyz check passed\n"
	if status, body := waitGet(t, probe+"/readyz?verbose"); status != 200 || body != want {
		t.Errorf("/readyz?verbose: %d %q, want %q", status, body, want)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "/readyz to fail", func() bool { status, _ := waitGet(t, probe+"/readyz"); return status == 503 })
	if _, body := waitGet(t, probe+"/readyz?verbose"); !strings.Contains(body, "[-]draining failed: shutting down\n") {
		t.Errorf("/readyz?verbose while draining: %q", body)
	}
	if status, body := waitGet(t, probe+"/livez"); status != 200 || body != "ok\n" {
		t.Errorf("/livez while draining: %d %q", status, body)
	}
	for i := range 3 { // new connections, each
		if status, body := waitGet(t, "http://"+main.addr+"/"); status != 200 || body != "files\n" {
			t.Errorf("request %d in the drain delay: %d %q", i, status, body)
		}
	}
	if !strings.Contains(stderr.String(), "serving on for --drain-delay 1m0s") {
		t.Errorf("stderr %q does not announce the drain delay", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("a second SIGTERM did not end the drain delay")
	}
	if c, err := net.DialTimeout("tcp", main.addr, time.Second); err == nil {
		c.Close()
		t.Error("the listener still accepts after nave exited")
	}
}

// readyApp is a WSGI app for the probes. Its import fails while a file
// "broken" is beside it, takes the seconds a file "slow" says, and adds
// the worker's pid to a file "imported"; GET /die ends its worker at once.
const readyApp = `import os, time
here = os.path.dirname(os.path.abspath(__file__))
if os.path.exists(os.path.join(here, "broken")):
    raise RuntimeError("broken on purpose")
if os.path.exists(os.path.join(here, "slow")):
    with open(os.path.join(here, "slow")) as f:
        time.sleep(float(f.read()))
with open(os.path.join(here, "imported"), "a") as f:
    f.write("%d\n" % os.getpid())

def app(environ, start_response):
    if environ["PATH_INFO"] == "/die":
        os._exit(1)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
`

// appsFailed is what /readyz says of the app of nave wsgi with no worker
// taking requests.
const appsFailed = `[-]apps failed: app "app" has no worker ready to take requests` + "\n"

// startReadyApp runs nave wsgi with readyApp in dir on passed sockets,
// and returns the site's address and the probes' URL.
func startReadyApp(t *testing.T, dir string, args ...string) (site, probe string, stderr *syncBuffer) {
	t.Helper()
	needPython(t)
	main, metrics := openSocket(t, "main"), openSocket(t, "metrics")
	args = append([]string{"wsgi", "--listen", "127.0.0.1:1", "--metrics", "127.0.0.1:1", "--python", testPython,
		"--chdir", dir, "--access-log", "off"}, append(args, "app:app")...)
	_, stderr = startCommand(t, activate(t, false, []passedSocket{main, metrics}, args...))
	return main.addr, "http://" + metrics.addr, stderr
}

// readyz is /readyz?verbose's status and body.
func readyz(t *testing.T, probe string) (int, string) {
	t.Helper()
	return waitGet(t, probe+"/readyz?verbose")
}

// kill asks the app at site for /die, which ends the worker that takes it.
func kill(t *testing.T, site string) {
	t.Helper()
	exchange(t, site, "GET /die HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
}

// imports is how many workers have imported the app in dir.
func imports(t *testing.T, dir string) int {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(dir, "imported"))
	return strings.Count(string(data), "\n")
}

// TestBinaryReadyzWaitsForWorkers: /readyz is never ok before the app's
// worker is ready. At the start the metrics listener is nave's but
// answers only once the config is applied, its app started: a probe sent
// while the app imports (2 s) is answered then, ok. A worker that dies
// leaves none taking requests while its replacement imports: /readyz
// fails, naming the app, then is ok again.
func TestBinaryReadyzWaitsForWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := writeApp(t, "app.py", readyApp)
	os.WriteFile(filepath.Join(dir, "slow"), []byte("2"), 0o644)
	site, probe, _ := startReadyApp(t, dir, "--workers", "1")
	status, body := readyz(t, probe)
	if n := imports(t, dir); status != 200 || n != 1 {
		t.Fatalf("first answer: %d %q with %d workers imported, want 200 with 1", status, body, n)
	}
	if !strings.Contains(body, "[+]apps ok\n") {
		t.Errorf("/readyz?verbose lists no apps check: %q", body)
	}
	kill(t, site)
	waitFor(t, "/readyz to fail while the worker restarts", func() bool {
		status, body := readyz(t, probe)
		return status == 503 && strings.Contains(body, appsFailed)
	})
	waitFor(t, "/readyz to pass once the new worker is ready", func() bool {
		status, _ := readyz(t, probe)
		return status == 200
	})
	if n := imports(t, dir); n != 2 {
		t.Errorf("ok again with %d imports, want 2 (the replacement's)", n)
	}
}

// TestBinaryReadyzNoWorkerUp: an app of two workers is ready while one
// is, the other dead and failing to start again; with both dead /readyz
// fails, naming the app, and stays so while their restarts fail; once the
// code imports again, a worker starts and /readyz is ok.
func TestBinaryReadyzNoWorkerUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := writeApp(t, "app.py", readyApp)
	site, probe, stderr := startReadyApp(t, dir, "--workers", "2")
	if status, body := readyz(t, probe); status != 200 {
		t.Fatalf("started: %d %q", status, body)
	}
	broken := filepath.Join(dir, "broken")
	os.WriteFile(broken, nil, 0o644)
	failures := func() int { return strings.Count(stderr.String(), "a worker failed to start; retrying") }
	kill(t, site)
	waitFor(t, "the dead worker's restart to fail twice", func() bool { return failures() >= 2 })
	if status, body := readyz(t, probe); status != 200 || !strings.Contains(body, "[+]apps ok\n") {
		t.Errorf("one worker of two up: %d %q, want 200", status, body)
	}
	kill(t, site)
	waitFor(t, "/readyz to fail with no worker up", func() bool {
		status, body := readyz(t, probe)
		return status == 503 && strings.Contains(body, appsFailed)
	})
	n := failures()
	waitFor(t, "another restart to fail", func() bool { return failures() > n })
	if status, body := readyz(t, probe); status != 503 || !strings.Contains(body, appsFailed) {
		t.Errorf("restarts failing: %d %q, want 503 naming the app", status, body)
	}
	os.Remove(broken)
	waitFor(t, "/readyz to pass once a worker starts again", func() bool {
		status, _ := readyz(t, probe)
		return status == 200
	})
}

// TestBinaryReadyzCertificates: an HTTPS listener whose certificate comes
// from ACME fails /readyz until the CA has issued it. The test holds the
// name's lock in the ACME storage, as another instance ordering would, so
// that nave serves without it for as long as the test needs.
func TestBinaryReadyzCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const name = "www.ready.test"
	ca := pebbletest.Start(t, pebbletest.Options{})
	state := t.TempDir()
	caDir := strings.NewReplacer(":", "-", "/", "-").Replace(strings.TrimPrefix(ca.DirURL, "https://"))
	release := holdLock(t, filepath.Join(state, "acme", caDir, "locks", "certs", name+".lock"))
	probe := "http://" + pebbletest.FreeAddr(t)
	addr, _, _ := startTLSBinary(t, state, "serve", "--access-log", "off", "--listen", "127.0.0.1:"+strconv.Itoa(ca.TLSPort),
		"--metrics", strings.TrimPrefix(probe, "http://"), "--domain", name, "--acme-ca", ca.DirURL,
		"--acme-ca-root", ca.RootsFile, "--acme-challenges", "tls-alpn-01")
	status, body := readyz(t, probe)
	if status != 503 || !strings.Contains(body, "[-]certificates failed: listener main has no certificate yet\n") {
		t.Fatalf("before the certificate: %d %q, want 503 naming the certificates", status, body)
	}
	release()
	waitForCert(t, addr, name, ca.IssuerRoots(t))
	waitFor(t, "/readyz to pass with the certificate", func() bool {
		status, _ := readyz(t, probe)
		return status == 200
	})
}

// TestReadyzAcrossAppReplacement: nave stays ready while a config change
// replaces an app (its new workers start before it is in force, the old
// ones then retire) and while a reload restarts every app's workers (new
// ones first): the apps check asks the app in force, never one starting
// or retiring.
func TestReadyzAcrossAppReplacement(t *testing.T) {
	dir := liveSite(t)
	v := liveVars{respond: "one"}
	b := startLive(t, liveConfig(t, dir, v))
	stop, failed := make(chan struct{}), make(chan string, 1)
	go func() {
		defer close(failed)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := b.appsServing(); err != nil || !b.health.Ready() {
				failed <- fmt.Sprintf("not ready: %v", err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	old := b.pool("a")
	v.aMax = 5
	if err := b.apply(liveConfig(t, dir, v)); err != nil {
		t.Fatal(err)
	}
	if b.pool("a") == old {
		t.Fatal("app a was not replaced")
	}
	waitFor(t, "the replaced app's workers to retire", func() bool { return old.InService() == 0 })
	b.reload()
	close(stop)
	if why, ok := <-failed; ok {
		t.Errorf("during the replacement or the reload: %s", why)
	}
}

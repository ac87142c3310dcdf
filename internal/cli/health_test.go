package cli

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
	want := "[+]started ok\n[+]draining ok\n[+]listeners ok\n[+]certificates ok\nreadyz check passed\n"
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

package cli

import (
	"nave/internal/wiretest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildNave builds cmd/nave once per test binary run.
var buildNave = func() func(t *testing.T) string {
	var once sync.Once
	var bin string
	var err error
	var out []byte
	return func(t *testing.T) string {
		t.Helper()
		once.Do(func() {
			dir, derr := os.MkdirTemp("", "nave-bin")
			if derr != nil {
				err = derr
				return
			}
			bin = filepath.Join(dir, "nave")
			out, err = exec.Command("go", "build", "-o", bin, "nave/cmd/nave").CombinedOutput()
		})
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		return bin
	}
}()

// startBinary runs the nave binary serving dir on a free port and returns
// it with the address it printed. The process is killed when the test ends.
func startBinary(t *testing.T, bin, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--access-log", "off", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, servingAddr(t, stdout, stderr, servingLine)
}

// TestBinarySecondSignal: a second signal ends nave at once, even with a
// response stuck behind a client that does not read.
func TestBinarySecondSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildNave(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, 64<<20), 0o644)
	cmd, addr := startBinary(t, bin, dir)
	c := wiretest.Dial(t, addr)
	c.Send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := c.Reader().ReadByte(); err != nil { // the response has begun
		t.Fatal(err)
	}
	cmd.Process.Signal(os.Interrupt)
	stderr := cmd.Stderr.(*syncBuffer)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "shutting down"); {
		if time.Now().After(deadline) {
			t.Fatalf("no shutdown notice; stderr %q", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err == nil {
			t.Error("nave exited 0 after a second signal, want the signal's status")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nave still running 10s after a second signal")
	}
}

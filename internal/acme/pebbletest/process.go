package pebbletest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startWait bounds how long Start waits for a process to listen.
const startWait = 20 * time.Second

// process is one child of a CA.
type process struct {
	name   string        // the binary's base name
	exited chan struct{} // closed once the child has been waited for
	err    error         // how it exited; read only after exited is closed
	stop   func()        // kills the child and waits for it; idempotent
}

// spawn starts bin with the CA's environment, its output in a file in dir
// that is logged if the test fails, and kills it when the test ends or stop
// is called.
func spawn(t testing.TB, dir, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: filepath.Base(bin), exited: make(chan struct{})}
	logFile, err := os.Create(filepath.Join(dir, p.name+".log"))
	if err != nil {
		t.Fatalf("pebbletest: %v", err)
	}
	ctx, kill := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		kill()
		logFile.Close()
		t.Fatalf("pebbletest: start %s: %v", p.name, err)
	}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	p.stop = sync.OnceFunc(func() {
		kill()
		<-p.exited
	})
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			out, err := os.ReadFile(logFile.Name())
			if err != nil {
				t.Logf("pebbletest: %s output: %v", p.name, err)
				return
			}
			t.Logf("%s output:\n%s", p.name, out)
		}
	})
	return p
}

// env is the children's environment: the test's, with Pebble's settings
// replaced by the ones the tests rely on.
func env() []string {
	var kept []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PEBBLE_") {
			kept = append(kept, kv)
		}
	}
	return append(kept,
		"PEBBLE_VA_NOSLEEP=1",      // validate at once
		"PEBBLE_WFE_NONCEREJECT=0", // no random badNonce errors
		"PEBBLE_AUTHZREUSE=0",      // every order validates anew
	)
}

// waitListening waits until addr accepts TCP connections, for at most
// startWait, and fails the test at once if the process exits first.
func (p *process) waitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(startWait)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("pebbletest: %s exited before listening on %s: %v", p.name, addr, p.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebbletest: %s not listening on %s after %v: %v", p.name, addr, startWait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

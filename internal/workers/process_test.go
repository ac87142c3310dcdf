package workers

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the output readers and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, script string, log *syncBuffer) *Process {
	t.Helper()
	p, err := Start(Spec{ID: 7, Path: "/bin/sh", Args: []string{"-c", script}, Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		<-p.Exited()
	})
	return p
}

func wait(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the process did not exit")
	}
}

// TestEarlyOutput: what a process prints before Ready is kept, not
// logged: the reason a start failed, with its exit code.
func TestEarlyOutput(t *testing.T) {
	var log syncBuffer
	p := start(t, `echo "Traceback"; echo "ImportError: no module" >&2; exit 3`, &log)
	wait(t, p)
	out := p.EarlyOutput()
	// stdout and stderr are read apart: either line may come last.
	if !strings.Contains(out, "Traceback") || !strings.Contains(out, "ImportError: no module") {
		t.Errorf("early output %q", out)
	}
	if p.ExitCode() != 3 || p.Status() != "exit status 3" || p.Err() == nil {
		t.Errorf("exit: code %d, status %q, err %v; want 3", p.ExitCode(), p.Status(), p.Err())
	}
	if strings.Contains(log.String(), "Traceback") {
		t.Errorf("output before Ready was logged: %s", log.String())
	}
}

// TestReadyLogs: at Ready the kept lines are logged, and later lines as
// they come, each with the process's id.
func TestReadyLogs(t *testing.T) {
	var log syncBuffer
	p := start(t, `echo before; exec sleep 30`, &log)
	for !strings.Contains(p.earlyNow(), "before") {
		time.Sleep(time.Millisecond)
	}
	p.Ready()
	p.Kill() // the sleep would outlast the test: the kill ends it
	wait(t, p)
	if got := log.String(); !strings.Contains(got, "line=before") || !strings.Contains(got, "worker=7") {
		t.Errorf("log %q lacks the early line with the id", got)
	}
	if p.Status() != "signal: killed" {
		t.Errorf("status after Kill: %q", p.Status())
	}
	p.Kill() // a second Kill is harmless
	p.Signal(syscall.SIGTERM)
}

// TestEarlyOutputBounded: a process that prints a lot before Ready keeps
// only the last MaxEarlyOutput bytes.
func TestEarlyOutputBounded(t *testing.T) {
	var log syncBuffer
	p := start(t, `i=0; while [ $i -lt 3000 ]; do echo "line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done`, &log)
	wait(t, p)
	out := p.EarlyOutput()
	if len(out) > MaxEarlyOutput || !strings.HasSuffix(out, "line 2999 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") || strings.HasPrefix(out, "line 0 ") {
		t.Errorf("kept %d bytes, starting %.20q, ending %q", len(out), out, out[max(0, len(out)-60):])
	}
}

func TestStartFails(t *testing.T) {
	if _, err := Start(Spec{Path: "/no/such/program"}); err == nil {
		t.Error("Start of a missing program: no error")
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second}
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{{0, 0}, {1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {5, 1600 * time.Millisecond}, {8, 10 * time.Second}, {1000, 10 * time.Second}} {
		if got := b.Delay(tc.failures); got != tc.want {
			t.Errorf("Delay(%d): got %v, want %v", tc.failures, got, tc.want)
		}
	}
}

// earlyNow is what was kept so far, without waiting for the output to end.
func (p *Process) earlyNow() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.early, "\n")
}

// TestLastLinesBeforeExited: once Exited is closed, every line the process
// wrote is in the log, its last words included (a lifespan's shutdown, a
// traceback at exit): a caller that stops nave then loses none.
func TestLastLinesBeforeExited(t *testing.T) {
	var log syncBuffer
	// seq writes in blocks, well ahead of a reader logging line by line.
	p := start(t, `seq 1 8000 >&2; echo "last words" >&2`, &log)
	p.Ready()
	wait(t, p)
	if got := log.String(); !strings.Contains(got, `line="last words"`) {
		t.Errorf("at Exited the log lacks the last line; it ends %q", got[max(0, len(got)-200):])
	}
}

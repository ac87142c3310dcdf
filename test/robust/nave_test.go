package robust

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long nave may take to print its serving line,
// and exitTimeout how long it may take to exit after a signal: generous,
// so that a slow CI machine passes and a hang fails.
const (
	startTimeout = 20 * time.Second
	exitTimeout  = 20 * time.Second
)

// naveBuild is the binary every test in the package runs, built once.
var naveBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if naveBuild.dir != "" {
		os.RemoveAll(naveBuild.dir)
	}
	os.Exit(code)
}

// buildNave builds cmd/nave, once per test binary run, and returns its path.
func buildNave(t *testing.T) string {
	t.Helper()
	b := &naveBuild
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "nave-robust")
		if b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "nave")
		out, err := exec.Command("go", "build", "-o", b.path, "nave/cmd/nave").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// naveConfig says how to run nave.
type naveConfig struct {
	command string   // the subcommand; "" means "serve"
	args    []string // after the subcommand: flags and the folder; --listen 127.0.0.1:0 is added
	nofile  int      // when > 0, the soft and hard RLIMIT_NOFILE of the process
}

// naveProc is a running nave. Its stderr is kept for the test to read.
type naveProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	exited chan struct{} // closed once Wait returned; err is then set
	err    error
}

var servingLine = regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`)

// startNave runs nave's cfg.command (serve by default) with cfg and waits
// for its serving line. The process is killed when the test ends, if it is
// still running.
func startNave(t *testing.T, cfg naveConfig) *naveProc {
	t.Helper()
	bin := buildNave(t)
	command := cfg.command
	if command == "" {
		command = "serve"
	}
	args := append([]string{bin, command, "--listen", "127.0.0.1:0"}, cfg.args...)
	if cfg.nofile > 0 {
		// The shell sets both limits: Go raises a soft limit to the hard
		// one at startup, so a soft limit alone would not hold.
		args = append([]string{"sh", "-c", `ulimit -n ` + strconv.Itoa(cfg.nofile) + ` && exec "$@"`, "sh"}, args...)
	}
	p := &naveProc{cmd: exec.Command(args[0], args[1:]...), stderr: &syncBuffer{}, exited: make(chan struct{})}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	select {
	case line := <-lines:
		m := servingLine.FindStringSubmatch(line)
		if m == nil {
			<-p.exited
			t.Fatalf("nave's first line %q, want its serving line; stderr:\n%s", line, p.stderr)
		}
		p.addr = m[1]
	case <-time.After(startTimeout):
		t.Fatalf("nave printed no serving line within %v; stderr:\n%s", startTimeout, p.stderr)
	}
	return p
}

// running reports whether the process has not exited.
func (p *naveProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends sig and waits for the process to exit, failing the test if it
// does not within exitTimeout. It returns Wait's error.
func (p *naveProc) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil && p.running() {
		t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-p.exited:
		return p.err
	case <-time.After(exitTimeout):
		t.Fatalf("nave still running %v after %v; stderr:\n%s", exitTimeout, sig, p.stderr)
		return nil
	}
}

// Files of the test document root, by URL path. Their bytes are
// pseudo-random, so that a misplaced or truncated byte shows.
var docFiles = map[string]int{
	"/index.html": 200,
	"/small.txt":  1 << 10,
	"/medium.bin": 64 << 10,
	"/large.bin":  1 << 20,
	"/huge.bin":   4 << 20,
	"/smuggled":   40, // would answer 200 if a smuggled request were served
	"/after":      30, // the request that follows an accepted hostile one
}

// docroot writes the files of docFiles into a new folder and returns it
// with their contents.
func docroot(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(6, 9112))
	files := make(map[string][]byte, len(docFiles))
	for name, size := range docFiles {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		path := filepath.Join(dir, name[1:])
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		// An hour old, as a deployed site's files are: nave does not cache
		// a file changed within the last seconds.
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	return dir, files
}

// syncBuffer is a bytes.Buffer safe for a process's output and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isReset reports whether err is the peer resetting or closing the
// connection under a write.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

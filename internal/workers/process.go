package workers

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MaxEarlyOutput bounds what a Process keeps of its output before Ready:
// the end of a long traceback is what matters, so the oldest lines go.
const MaxEarlyOutput = 64 << 10

// outputDrain bounds how long the end of a process (and EarlyOutput) waits
// for the output pipes to close: a forked grandchild may hold them open.
const outputDrain = 2 * time.Second

// Spec says how to start a process.
type Spec struct {
	ID         int       // the id its log lines carry
	Path       string    // the program
	Args       []string  // its arguments, without the program's name
	Dir        string    // working folder; "" is nave's
	Env        []string  // nil is nave's environment
	Stdin      io.Reader // nil is /dev/null
	ExtraFiles []*os.File
	Logger     *slog.Logger // its output once ready; nil discards it
}

// Process is one running child. Kill is safe to call any number of times,
// from any goroutine.
type Process struct {
	id     int
	cmd    *exec.Cmd
	log    *slog.Logger
	exited chan struct{}
	err    error // why it ended; set before exited is closed
	kill   sync.Once
	logs   sync.WaitGroup // the output readers

	mu         sync.Mutex
	ready      bool     // guarded by mu: lines go to the log, not to early
	early      []string // guarded by mu: output before Ready
	earlyBytes int      // guarded by mu
}

// Start starts the process in its own process group (a ^C at nave's
// terminal reaches nave, which drains, not its children) and with
// Pdeathsig, so that nave's death takes it along.
func Start(spec Spec) (*Process, error) {
	p := &Process{id: spec.ID, log: spec.Logger, exited: make(chan struct{})}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir, cmd.Env, cmd.Stdin = spec.Dir, spec.Env, spec.Stdin
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.ExtraFiles = spec.ExtraFiles
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	p.cmd = cmd
	p.logs.Add(2)
	go p.logLines(outR, "stdout")
	go p.logLines(errR, "stderr")
	go func() {
		p.err = cmd.Wait()
		if p.err == nil {
			p.err = errors.New("exited")
		}
		// Its last lines (a shutdown's, a traceback at exit) are logged
		// before Exited says it ended: cmd.Wait does not wait for the
		// readers of *os.File pipes, and nave may exit right after.
		p.drainOutput()
		close(p.exited)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the process has been reaped and its output read
// to the end (bounded by outputDrain).
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err says why the process ended ("exit status 1", "signal: killed"); nil
// until Exited is closed.
func (p *Process) Err() error {
	select {
	case <-p.exited:
		return p.err
	default:
		return nil
	}
}

// ExitCode is the exit code once reaped, or -1 (still running, or ended
// by a signal).
func (p *Process) ExitCode() int {
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Status describes how the process ended ("exit status 3", "signal:
// killed"), or "running".
func (p *Process) Status() string {
	select {
	case <-p.exited:
		return p.cmd.ProcessState.String()
	default:
		return "running"
	}
}

// Kill ends the process at once (SIGKILL).
func (p *Process) Kill() {
	p.kill.Do(func() { p.cmd.Process.Kill() })
}

// Signal sends sig unless the process has been reaped.
func (p *Process) Signal(sig os.Signal) {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Signal(sig)
	}
}

// Ready says the process is up: the output it printed so far is logged,
// and from now on each line as it comes.
func (p *Process) Ready() {
	p.mu.Lock()
	p.ready = true
	early := p.early
	p.early = nil
	p.mu.Unlock()
	for _, line := range early {
		p.log.Info("worker output", "worker", p.id, "line", line)
	}
}

// EarlyOutput returns what the process printed before Ready (at most
// MaxEarlyOutput bytes, the last ones), waiting briefly for its output to
// end: for a process that failed to start, the reason.
func (p *Process) EarlyOutput() string {
	p.drainOutput()
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.early, "\n")
}

// drainOutput waits for the output readers to end, for at most
// outputDrain.
func (p *Process) drainOutput() {
	drained := make(chan struct{})
	go func() {
		p.logs.Wait()
		close(drained)
	}()
	t := time.NewTimer(outputDrain)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
	}
}

// logLines logs one output stream line by line, or keeps the lines until
// Ready.
func (p *Process) logLines(r *os.File, stream string) {
	defer p.logs.Done()
	defer r.Close()
	br := bufio.NewReaderSize(r, 16<<10)
	for {
		line, err := br.ReadSlice('\n')
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 || err == nil {
			p.output(stream, string(line))
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

func (p *Process) output(stream, line string) {
	p.mu.Lock()
	if !p.ready {
		p.early = append(p.early, line)
		p.earlyBytes += len(line) + 1
		for p.earlyBytes > MaxEarlyOutput && len(p.early) > 1 {
			p.earlyBytes -= len(p.early[0]) + 1
			p.early = p.early[1:]
		}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.log.Info("worker output", "worker", p.id, "stream", stream, "line", line)
}

// LastLine is the last non-empty line of output, trimmed: the exception of
// a traceback.
func LastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// Package proc starts and stops the benchmark's servers: each in its own
// process group, optionally pinned to one CPU with taskset (children inherit
// the affinity), its output in a log file, and stopped with SIGTERM, a grace
// period, then SIGKILL for the whole process tree. Linux only; standard
// library only.
package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec says how to run one server.
type Spec struct {
	Name string   // for messages
	Path string   // the program
	Args []string // its arguments
	Env  []string // added to this process's environment
	Dir  string   // working directory; "" is the current one
	CPU  int      // pin to this CPU with taskset; negative means no pinning
	// CPUs, when set, is taskset's CPU list instead of CPU ("0,1"): a
	// server given several CPUs.
	CPUs string
	Log  string // file that takes stdout and stderr; "" discards them
}

// Proc is a started process tree. Stop is safe to call more than once and
// from several goroutines.
type Proc struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the root process has been waited for
	err  error         // the root's exit status; set before done is closed

	stopOnce sync.Once
}

// Start starts s. The process is the leader of a new process group, and gets
// SIGKILL if the goroutine's thread that started it dies (a backstop for a
// harness killed with SIGKILL; an orderly exit calls Stop).
func Start(s Spec) (*Proc, error) {
	path, args := s.Path, s.Args
	switch {
	case s.CPUs != "":
		args = append([]string{"-c", s.CPUs, path}, args...)
		path = "taskset"
	case s.CPU >= 0:
		args = append([]string{"-c", strconv.Itoa(s.CPU), path}, args...)
		path = "taskset"
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if s.Log != "" {
		f, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("proc: %s log: %w", s.Name, err)
		}
		defer f.Close() // the child has its own copy once started
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("proc: start %s: %w", s.Name, err)
	}
	p := &Proc{name: s.Name, log: s.Log, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the root process's id (the server itself: taskset execs it).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the root process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.done }

// ExitErr is the root's exit status; meaningful only after Exited is closed.
func (p *Proc) ExitErr() error { return p.err }

// Tree is the root and all its live descendants.
func (p *Proc) Tree() []int { return Descendants(p.Pid()) }

// Stop sends SIGTERM to the process group and to every descendant (some
// servers put their children in groups of their own), waits up to grace for
// the root to exit, then sends SIGKILL to all of them, and waits (bounded)
// until none is left.
func (p *Proc) Stop(grace time.Duration) {
	p.stopOnce.Do(func() { p.stop(grace) })
}

func (p *Proc) stop(grace time.Duration) {
	pids := p.Tree()
	signalAll := func(sig syscall.Signal) {
		_ = syscall.Kill(-p.Pid(), sig) // ESRCH once the group is gone
		for _, pid := range pids {
			_ = syscall.Kill(pid, sig)
		}
	}
	signalAll(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	signalAll(syscall.SIGKILL)
	<-p.done
	// Orphaned descendants are reaped by init; wait until they are gone so
	// the next server starts on a quiet CPU and a free port.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && anyAlive(pids) {
		time.Sleep(20 * time.Millisecond)
	}
}

// anyAlive reports whether one of pids is still running (zombies count as
// gone: they hold no memory, CPU or port).
func anyAlive(pids []int) bool {
	for _, pid := range pids {
		st, err := readStat(pid)
		if err == nil && st.state != 'Z' && st.state != 'X' {
			return true
		}
	}
	return false
}

// LogTail returns up to the last n lines of the process's log, for error
// messages.
func (p *Proc) LogTail(n int) string {
	if p.log == "" {
		return ""
	}
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ErrExited is returned by waits that saw the server exit.
var ErrExited = errors.New("proc: server exited")

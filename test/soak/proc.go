package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a running nave.
type process struct {
	name   string // "serve" or "wsgi", for the report
	cmd    *exec.Cmd
	addr   string
	stderr *lockedBuffer
	exited chan struct{} // closed when Wait returned; err is set then
	err    error
}

var servingLine = regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`)

// startProcess runs nave with args (--listen is added) and waits up to
// timeout for its serving line.
func startProcess(name, nave string, args []string, timeout time.Duration) (*process, error) {
	args = append([]string{args[0], "--listen", "127.0.0.1:0"}, args[1:]...)
	p := &process{name: name, cmd: exec.Command(nave, args...), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
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
	select {
	case line := <-lines:
		if m := servingLine.FindStringSubmatch(line); m != nil {
			p.addr = m[1]
			return p, nil
		}
		<-p.exited
		return nil, fmt.Errorf("nave %s printed %q, not its serving line: %v\n%s", name, line, p.err, p.stderr)
	case <-time.After(timeout):
		p.kill()
		return nil, fmt.Errorf("nave %s printed no serving line within %v\n%s", name, timeout, p.stderr)
	}
}

// stop sends SIGTERM and waits for the exit; a process still running after
// timeout is killed and reported.
func (p *process) stop(timeout time.Duration) error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			return fmt.Errorf("nave %s exited with %v after SIGTERM", p.name, p.err)
		}
		return nil
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("nave %s still running %v after SIGTERM", p.name, timeout)
	}
}

func (p *process) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// sample is what /proc says of a process at one moment.
type sample struct {
	rss     int64 // VmRSS, bytes
	fds     int
	threads int
	workers int   // child processes (nave wsgi's Python workers)
	wrss    int64 // their VmRSS summed
}

func (p *process) sample() (sample, error) {
	pid := p.cmd.Process.Pid
	s, err := sampleStatus(pid)
	if err != nil {
		return s, err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = len(fds)
	for _, child := range children(pid) {
		if cs, err := sampleStatus(child); err == nil {
			s.workers++
			s.wrss += cs.rss
		}
	}
	return s, nil
}

// children lists the processes pid started, from every one of its threads.
func children(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for f := range strings.FieldsSeq(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// sampleStatus reads VmRSS and Threads from /proc/PID/status.
func sampleStatus(pid int) (sample, error) {
	var s sample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		key, value, _ := strings.Cut(line, ":")
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch key {
		case "VmRSS":
			s.rss = n << 10 // kB
		case "Threads":
			s.threads = int(n)
		}
	}
	if s.rss == 0 {
		return s, errors.New("no VmRSS in /proc status")
	}
	return s, nil
}

func (s sample) String() string {
	out := fmt.Sprintf("RSS %s, %d fds, %d threads", mib(s.rss), s.fds, s.threads)
	if s.workers > 0 {
		out += fmt.Sprintf(", %d workers %s", s.workers, mib(s.wrss))
	}
	return out
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// lockedBuffer collects a process's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Package upgrade replaces a running nave with a new binary without a
// refused connection, as nginx's USR2 does: the running process starts
// the new one with its listening sockets (the same descriptors, so the
// kernel's accept queues carry on), waits for it to say it is ready, and
// only then drains and exits; if the new one fails to start or to become
// ready in time, it is killed and the old one keeps serving.
//
// The hand-over speaks systemd's protocols (package systemd): sockets as
// descriptors from 3 with LISTEN_FDS and LISTEN_FDNAMES (and
// NAVE_LISTEN_PARENT in place of LISTEN_PID), and READY=1 on a datagram
// socket named by NOTIFY_SOCKET, which the old process creates for the
// purpose. So the new binary takes its sockets and reports readiness with
// the code it runs under systemd. The service manager's own NOTIFY_SOCKET
// goes along as NAVE_NOTIFY_SOCKET, for the new process to use once ready
// (systemd.Ready), when the old one has told the manager its pid
// (MAINPID=).
//
// It imports internal/systemd and the standard library only.
package upgrade

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"nave/internal/systemd"
)

// DefaultTimeout bounds the wait for the new process's READY=1.
const DefaultTimeout = 60 * time.Second

// Spec says what to start.
type Spec struct {
	Path string   // the new binary; "" is the path this one was started from
	Args []string // its arguments, without the program's name
	Env  []string // nil is this process's environment
	// Listeners are handed over in order, each under its name.
	Listeners []systemd.Listener
	Timeout   time.Duration // 0 is DefaultTimeout
	// Stdout and Stderr are the new process's, nil meaning this one's.
	// An *os.File is handed over as it is, as a service needs: the new
	// process outlives this one. Any other writer is fed from a pipe that
	// this process copies, which closes when it exits, and the new
	// process's next write to it then kills it (SIGPIPE): that is for
	// tests, which get the end of the output in an Error.
	Stdout io.Writer
	Stderr io.Writer
}

// Error is a new process that did not become ready: why, and the end of
// what it wrote to its standard error when that was not a file (a file is
// shared: what the new process wrote is there, before this error).
type Error struct {
	Reason string
	Output string
}

func (e *Error) Error() string {
	if e.Output == "" {
		return "upgrade: the new process " + e.Reason
	}
	return "upgrade: the new process " + e.Reason + ": " + e.Output
}

// Child is the new process, once ready. The old one goes on reaping it
// while it drains.
type Child struct {
	Pid    int
	proc   *os.Process
	exited chan struct{}
	err    error // how it exited; set before exited closes
}

// Exited is closed once the new process has exited (while the old one
// still runs: it died after it was ready).
func (c *Child) Exited() <-chan struct{} { return c.exited }

// Err is how the new process exited, once Exited is closed.
func (c *Child) Err() error { return c.err }

// Kill kills the new process.
func (c *Child) Kill() { c.proc.Kill() }

// Start starts the new process and returns it once it has said READY=1.
// On failure it is killed and reaped, and the error is an *Error.
func Start(s Spec) (*Child, error) {
	path := s.Path
	if path == "" {
		exe, err := os.Executable() // the path, even when the file there is new
		if err != nil {
			return nil, fmt.Errorf("upgrade: %w", err)
		}
		path = exe
	}
	files, names, err := listenerFiles(s.Listeners)
	defer closeAll(files)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "nave-upgrade-")
	if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	defer notify.Close()

	env := s.Env
	if env == nil {
		env = os.Environ()
	}
	env = append(withoutHandover(env),
		systemd.NotifyEnv+"="+managerSocket(env),
		systemd.ParentEnv+"="+strconv.Itoa(os.Getpid()),
		"LISTEN_FDS="+strconv.Itoa(len(files)),
		"LISTEN_FDNAMES="+strings.Join(names, ":"),
		"NOTIFY_SOCKET="+sock)
	tail := &tailWriter{max: 4 << 10}
	cmd := exec.Command(path, s.Args...)
	cmd.Env, cmd.ExtraFiles = env, files
	cmd.Stdout = orStd(s.Stdout, os.Stdout)
	cmd.Stderr = orStd(s.Stderr, os.Stderr)
	if _, ok := cmd.Stderr.(*os.File); !ok {
		// exec copies from a pipe in this process, so the end of the
		// output can be kept for the Error; see Spec.Stderr.
		cmd.Stderr = io.MultiWriter(cmd.Stderr, tail)
	}
	if err := cmd.Start(); err != nil {
		return nil, &Error{Reason: "did not start (" + err.Error() + ")"}
	}
	child := &Child{Pid: cmd.Process.Pid, proc: cmd.Process, exited: make(chan struct{})}
	go func() { child.err = cmd.Wait(); close(child.exited) }()

	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ready := make(chan error, 1)
	go func() { ready <- awaitReady(notify, time.Now().Add(timeout)) }()
	select {
	case err := <-ready:
		if err == nil {
			return child, nil
		}
		child.Kill()
		<-child.exited
		return nil, &Error{Reason: err.Error(), Output: tail.String()}
	case <-child.exited:
		notify.Close()
		<-ready
		return nil, &Error{Reason: "exited before it was ready (" + exitReason(child.err) + ")", Output: tail.String()}
	}
}

// awaitReady reads notifications until one says READY=1, or until
// deadline.
func awaitReady(c *net.UnixConn, deadline time.Time) error {
	c.SetReadDeadline(deadline)
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return errors.New("was not ready in time")
			}
			return errors.New("stopped being waited for")
		}
		for line := range strings.SplitSeq(string(buf[:n]), "\n") {
			if line == "READY=1" {
				return nil
			}
		}
	}
}

// listenerFiles dups each listener's descriptor for the child.
func listenerFiles(ls []systemd.Listener) ([]*os.File, []string, error) {
	files := make([]*os.File, 0, len(ls))
	names := make([]string, 0, len(ls))
	for _, l := range ls {
		fl, ok := l.Listener.(interface{ File() (*os.File, error) })
		if !ok {
			return files, nil, fmt.Errorf("upgrade: listener %q (%T) has no descriptor to hand over", l.Name, l.Listener)
		}
		f, err := fl.File()
		if err != nil {
			return files, nil, fmt.Errorf("upgrade: listener %q: %w", l.Name, err)
		}
		files = append(files, f)
		names = append(names, l.Name)
	}
	return files, names, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// withoutHandover drops the variables of an earlier hand-over (or of
// systemd's own), which describe other descriptors.
func withoutHandover(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", systemd.ParentEnv, "NOTIFY_SOCKET", systemd.NotifyEnv:
			continue
		}
		out = append(out, kv)
	}
	return out
}

// managerSocket is the service manager's NOTIFY_SOCKET in env, which the
// new process notifies once ready (systemd.Ready); "" for none.
func managerSocket(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NOTIFY_SOCKET="); ok {
			return v
		}
	}
	return ""
}

func orStd(w, std io.Writer) io.Writer {
	if w == nil {
		return std
	}
	return w
}

func exitReason(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}

package systemd

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// firstFD is the first descriptor passed (SD_LISTEN_FDS_START).
const firstFD = 3

// Listener is a listening socket handed over, with its name: the socket
// unit's FileDescriptorName=, or "" when none was given.
type Listener struct {
	Name string
	net.Listener
}

// ParentEnv names the variable a process that hands its sockets to a
// child it starts (nave's binary upgrade) sets instead of LISTEN_PID,
// which it cannot know before the child exists: its own pid, which the
// child finds as its parent's.
const ParentEnv = "NAVE_LISTEN_PARENT"

// Listeners returns the sockets passed to this process, in order, or none
// when nothing was passed (LISTEN_PID names another process, or is unset,
// and NAVE_LISTEN_PARENT does not name this process's parent).
// It unsets the variables, so that child processes (app workers) do not
// take the sockets for theirs, and marks the descriptors close-on-exec.
// A passed descriptor that is not a listening stream socket is an error
// naming it.
func Listeners() ([]Listener, error) {
	pid, parent := os.Getenv("LISTEN_PID"), os.Getenv(ParentEnv)
	fds, names := os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	for _, v := range []string{"LISTEN_PID", ParentEnv, "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	if !isPid(pid, os.Getpid()) && !isPid(parent, os.Getppid()) {
		return nil, nil // meant for another process, or nothing passed
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("systemd: LISTEN_FDS=%q is not a count of descriptors", fds)
	}
	var nameList []string
	if names != "" {
		nameList = strings.Split(names, ":")
	}
	ls := make([]Listener, 0, n)
	for i := range n {
		fd := firstFD + i
		name := ""
		if i < len(nameList) {
			name = nameList[i]
		}
		l, err := listener(fd, name)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// isPid reports whether a variable's value v is the pid given.
func isPid(v string, pid int) bool {
	p, err := strconv.Atoi(v)
	return err == nil && p == pid
}

// listener wraps descriptor fd, which must be a listening stream socket.
func listener(fd int, name string) (Listener, error) {
	syscall.CloseOnExec(fd)
	label := "descriptor " + strconv.Itoa(fd)
	if name != "" {
		label += " (" + name + ")"
	}
	typ, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE)
	if err != nil {
		return Listener{}, fmt.Errorf("systemd: %s is not a socket: %w", label, err)
	}
	acc, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	if typ != syscall.SOCK_STREAM || err != nil || acc == 0 {
		return Listener{}, fmt.Errorf("systemd: %s is not a listening stream socket (ListenStream= in the socket unit)", label)
	}
	f := os.NewFile(uintptr(fd), name)
	l, err := net.FileListener(f) // dups fd
	f.Close()
	if err != nil {
		return Listener{}, fmt.Errorf("systemd: %s: %w", label, err)
	}
	return Listener{Name: name, Listener: l}, nil
}

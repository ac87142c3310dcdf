package workers

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// SocketPair makes the socket nave talks to a worker over: nave's end as a
// connection, and the worker's as a file to pass it (Spec.ExtraFiles),
// which the caller closes once the worker started. Both are close-on-exec
// until passed. name labels the files.
func SocketPair(name string) (*net.UnixConn, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: socketpair: %w", name, err)
	}
	mine := os.NewFile(uintptr(fds[0]), name)
	theirs := os.NewFile(uintptr(fds[1]), name)
	fc, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, nil, err
	}
	return fc.(*net.UnixConn), theirs, nil
}

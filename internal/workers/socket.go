package workers

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// socketBuffer is the send and receive buffer each end of a worker
// socket asks for. The default (net.core.wmem_default, 208 KiB here) holds
// four 50 KiB responses: an ASGI worker answering many requests at once
// fills it within a turn of its loop, and its writes then come back
// partial, each rest to be sent on a later turn. A large buffer is not
// memory set aside, only a bound on what may queue.
const socketBuffer = 1 << 20

// SocketPair makes the socket nave talks to a worker over: nave's end as a
// connection, and the worker's as a file to pass it (Spec.ExtraFiles),
// which the caller closes once the worker started. Both are close-on-exec
// until passed. name labels the files.
func SocketPair(name string) (*net.UnixConn, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: socketpair: %w", name, err)
	}
	for _, fd := range fds {
		// Best effort: the kernel caps the size at net.core.wmem_max and
		// rmem_max, and the default serves, only slower.
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, socketBuffer)
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, socketBuffer)
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

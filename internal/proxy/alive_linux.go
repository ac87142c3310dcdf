package proxy

import (
	"syscall"
	"unsafe"
)

// alive reports whether a pooled connection is still open and quiet: a
// server that closed it, or sent bytes nobody asked for, makes it unfit
// to carry a request. It costs one non-blocking recv.
func (c *conn) alive() bool {
	if c.rc == nil {
		return true
	}
	c.peekDead = false
	if err := c.rc.Read(c.peekFn); err != nil {
		return false
	}
	return !c.peekDead
}

// peek runs with the socket: MSG_PEEK leaves any byte where it is. Only
// "nothing to read" (EAGAIN) means alive: a byte is one nobody asked for,
// zero bytes is the server's FIN, anything else an error.
func (c *conn) peek(fd uintptr) bool {
	_, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.peekByte[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	c.peekDead = errno != syscall.EAGAIN && errno != syscall.EWOULDBLOCK
	return true
}

package server

import (
	"syscall"
	"unsafe"
)

// poll(2) events; syscall does not name POLLRDHUP.
const (
	pollIn    = 0x1
	pollErr   = 0x8
	pollHup   = 0x10
	pollRdHup = 0x2000
)

// peerClosed reports whether the peer of the socket fd has shut its side
// or reset it, without reading: POLLRDHUP says so even with unread bytes
// (a pipelined request, a TLS close_notify) in front of the FIN.
func peerClosed(fd uintptr) bool {
	pfd := struct {
		fd      int32
		events  int16
		revents int16
	}{fd: int32(fd), events: pollIn | pollRdHup}
	var ts syscall.Timespec // zero: do not wait
	n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	if errno != 0 || n == 0 {
		return false
	}
	return pfd.revents&(pollRdHup|pollHup|pollErr) != 0
}

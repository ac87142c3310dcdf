package cli

import "syscall"

// deferAccept sets TCP_DEFER_ACCEPT on a listening socket, as nginx's
// "listen ... deferred": the kernel hands over a connection once its
// first bytes have arrived, so that the goroutine serving it reads the
// request at once instead of waiting for it in the poller. A client that
// connects and says nothing is still accepted, after the kernel's
// retransmissions of the handshake (about a second).
func deferAccept(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

package server

import (
	"crypto/tls"
	"errors"
	"os"
	"syscall"
	"time"
)

// DefaultHandshakeTimeout bounds a TLS handshake, from the ClientHello's
// first byte to the handshake's end.
const DefaultHandshakeTimeout = 10 * time.Second

// errHelloReady is readIdle's answer on a TLS connection whose first
// bytes (the ClientHello) have arrived: the handshake comes next.
var errHelloReady = errors.New("server: client hello arrived")

// helloReady is the RawConn read callback of a TLS connection before its
// handshake: it only peeks, so that until the client speaks the connection
// holds no buffer and no TLS state, and waits (or parks) as cheaply as an
// idle plain connection.
func (c *conn) helloReady(fd uintptr) bool {
	var b [1]byte
	for {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			c.readErr = os.NewSyscallError("recvfrom", err)
		case n == 0:
			c.readErr = errClosedBeforeHello
		default:
			c.readErr = errHelloReady
		}
		return true
	}
}

var (
	errClosedBeforeHello = errors.New("server: closed before a TLS handshake")
	errOtherProtocol     = errors.New("server: ALPN agreed on a protocol other than HTTP/1.1")
)

// handshake runs the TLS handshake under the handshake timeout. From then
// on the connection reads through crypto/tls: no more peeking, parking or
// sendfile. errH2 says that ALPN chose HTTP/2.
func (c *conn) handshake() error {
	c.batch = &recordBatch{Conn: c.stream()}
	tc := tls.Server(c.batch, c.tlsConf)
	c.tlsConf = nil
	c.nc.SetDeadline(time.Now().Add(c.s.cfg.handshakeTimeout()))
	if err := tc.Handshake(); err != nil {
		c.s.m.Handshake(false, 0)
		c.s.log.Debug("TLS handshake failed", "remote", c.remote.String(), "err", err)
		return err
	}
	// No more parking: crypto/tls may hold bytes the socket no longer
	// shows. The sweep reads fd, and closeConns nc, under s.mu.
	c.s.mu.Lock()
	c.nc, c.raw = tc, nil
	c.fd = -1
	c.s.mu.Unlock()
	st := tc.ConnectionState()
	c.tlsState = &st
	c.s.m.Handshake(true, st.Version)
	if st.NegotiatedProtocol == "h2" {
		return errH2
	}
	if p := st.NegotiatedProtocol; p != "" && p != "http/1.1" {
		// Another protocol was agreed (acme-tls/1: a CA's validator,
		// which needed only the handshake); there is no HTTP to serve.
		return errOtherProtocol
	}
	c.readDeadline, c.writeDeadline = time.Time{}, time.Time{}
	c.nc.SetWriteDeadline(time.Time{})
	return nil
}

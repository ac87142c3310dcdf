// Package rawio reads and writes non-blocking sockets with raw system
// calls.
//
// Go's net package brackets each read(2) and write(2) with the runtime's
// entersyscall and exitsyscall, so that a call that blocks hands its P
// (its right to run Go code) to another thread. No call blocks on a
// non-blocking socket, but one can look long to the runtime all the same:
// when nave shares a CPU with its Python workers, a write that wakes a
// worker lets the kernel switch to it, and the thread sits in the call
// until the worker's time slice ends. The runtime's monitor then takes the
// P away and wakes another thread to run it, which soon does the same:
// under load, thousands of hand-offs a second between nave's threads, each
// a context switch on the CPU the workers need, and the monitor itself
// kept awake every 20 µs. A raw system call keeps the P. A socket that is
// not ready answers EAGAIN at once, and the wait for readiness is the
// runtime poller's, through the socket's syscall.RawConn, as before: the
// connection's deadlines apply to it.
//
// Files are not read this way: a read of a file can block on the disk,
// and must let the runtime run other goroutines meanwhile.
package rawio

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Read is read(2) on a non-blocking descriptor.
func Read(fd int, p []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	raceAcquireIO()
	return int(n), nil
}

// Write is write(2) on a non-blocking descriptor.
func Write(fd int, p []byte) (int, error) {
	return Send(fd, p, 0)
}

// Send is send(2) with flags (syscall.MSG_MORE, say) on a non-blocking
// socket.
func Send(fd int, p []byte, flags int) (int, error) {
	raceReleaseIO()
	n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)), uintptr(flags), 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// msghdr is a message header for p (through iov, which it sets) and oob.
// It returns the header, rather than fill one in place, so that iov stays
// on the caller's stack.
func msghdr(iov *syscall.Iovec, p, oob []byte) syscall.Msghdr {
	var msg syscall.Msghdr
	iov.Base = (*byte)(bufPtr(p))
	iov.SetLen(len(p))
	msg.Iov, msg.Iovlen = iov, 1
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	return msg
}

// recvmsg is recvmsg(2) on a non-blocking socket: p's bytes and the
// ancillary data that came with them into oob.
func recvmsg(fd int, p, oob []byte, flags int) (n, oobn, rflags int, err error) {
	var iov syscall.Iovec
	msg := msghdr(&iov, p, oob)
	r, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	if e != 0 {
		return -1, 0, 0, e
	}
	raceAcquireIO()
	return int(r), int(msg.Controllen), int(msg.Flags), nil
}

// sendmsg is sendmsg(2) on a non-blocking socket: p's bytes, and oob with
// the first of them.
func sendmsg(fd int, p, oob []byte) (int, error) {
	var iov syscall.Iovec
	msg := msghdr(&iov, p, oob)
	raceReleaseIO()
	r, _, e := syscall.RawSyscall(syscall.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// writev is writev(2) on a non-blocking descriptor.
func writev(fd int, iov []syscall.Iovec) (int, error) {
	raceReleaseIO()
	r, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func bufPtr(p []byte) unsafe.Pointer {
	if len(p) == 0 {
		return nil
	}
	return unsafe.Pointer(&p[0])
}

// Conn is a socket connection whose Read and Write make raw system calls;
// the rest of net.Conn (deadlines, addresses, Close) is the wrapped
// connection's. Like any net.Conn, it may be used from several goroutines
// at once: reads are serialized with reads, writes with writes, and each
// Write is whole before the next begins.
type Conn struct {
	net.Conn
	rc syscall.RawConn

	rmu    sync.Mutex
	rbuf   []byte
	roob   []byte // ReadMsg's: room for ancillary data
	rn     int
	roobn  int
	rflags int
	rerr   error
	readFn func(uintptr) bool

	wmu     sync.Mutex
	wbuf    []byte
	woob    []byte // WriteMsg's: ancillary data, sent with the first bytes
	wn      int
	wflags  int
	werr    error
	writeFn func(uintptr) bool
	// WriteBuffers': the buffers' iovecs, and the index of the first
	// not yet written whole.
	wiov     []syscall.Iovec
	wnext    int
	writevFn func(uintptr) bool
}

// ErrNoDescriptor is New's answer for a connection that is not a socket
// of this process (net.Pipe's, or a TLS connection).
var ErrNoDescriptor = errors.New("rawio: the connection has no socket descriptor")

// New wraps nc, which must be a socket in non-blocking mode, as the net
// package's connections are.
func New(nc net.Conn) (*Conn, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, ErrNoDescriptor
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	c := &Conn{Conn: nc, rc: rc}
	c.readFn = c.readReady
	c.writeFn = c.writeReady
	c.writevFn = c.writevReady
	return c, nil
}

// Read reads into p what has arrived, waiting for something to arrive;
// at the end of the stream it returns 0, io.EOF.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf, c.rn, c.rerr = p, 0, nil
	err := c.rc.Read(c.readFn)
	c.rbuf = nil
	if err == nil {
		err = c.rerr
	}
	return c.rn, err
}

// ReadMsg is Read with recvmsg(2): it reads into p, and into oob the
// ancillary data that came with those bytes (descriptors passed with
// SCM_RIGHTS, which arrive close-on-exec). It returns the message's flags
// (syscall.MSG_CTRUNC: oob was too small) and, at the end of the stream,
// 0, 0, 0, io.EOF.
func (c *Conn) ReadMsg(p, oob []byte) (n, oobn, flags int, err error) {
	if len(p) == 0 {
		return 0, 0, 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf, c.roob, c.rn, c.roobn, c.rflags, c.rerr = p, oob, 0, 0, 0, nil
	err = c.rc.Read(c.readFn)
	c.rbuf, c.roob = nil, nil
	if err == nil {
		err = c.rerr
	}
	return c.rn, c.roobn, c.rflags, err
}

// readReady is Read's and ReadMsg's RawConn callback: false (wait) while
// the socket has nothing.
func (c *Conn) readReady(fd uintptr) bool {
	for {
		var n int
		var err error
		if c.roob != nil {
			n, c.roobn, c.rflags, err = recvmsg(int(fd), c.rbuf, c.roob, syscall.MSG_CMSG_CLOEXEC)
		} else {
			n, err = Read(int(fd), c.rbuf)
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			c.rerr = os.NewSyscallError("read", err)
		case n == 0 && c.roobn == 0:
			c.rerr = io.EOF
		default:
			c.rn = n
		}
		return true
	}
}

// CloseWrite shuts the connection's sending side, when the wrapped
// connection can (TCP and Unix sockets can).
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Write writes all of p, waiting for room in the socket's buffer as
// needed.
func (c *Conn) Write(p []byte) (int, error) {
	return c.WriteFlags(p, 0)
}

// WriteFlags is Write with send(2)'s flags: with syscall.MSG_MORE the
// kernel holds a short p back for what the next write brings.
func (c *Conn) WriteFlags(p []byte, flags int) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf, c.wn, c.wflags, c.werr = p, 0, flags, nil
	err := c.rc.Write(c.writeFn)
	n := c.wn
	c.wbuf = nil
	if err == nil {
		err = c.werr
	}
	return n, err
}

// WriteMsg writes all of p with sendmsg(2), oob (descriptors to pass,
// say: syscall.UnixRights) going with its first bytes.
func (c *Conn) WriteMsg(p, oob []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf, c.woob, c.wn, c.wflags, c.werr = p, oob, 0, 0, nil
	err := c.rc.Write(c.writeFn)
	n := c.wn
	c.wbuf, c.woob = nil, nil
	if err == nil {
		err = c.werr
	}
	return n, err
}

// writeReady is Write's and WriteMsg's RawConn callback: it sends until
// done, and reports false (wait for room) when the socket's buffer is
// full.
func (c *Conn) writeReady(fd uintptr) bool {
	for c.wn < len(c.wbuf) || c.woob != nil {
		var n int
		var err error
		if c.woob != nil {
			n, err = sendmsg(int(fd), c.wbuf[c.wn:], c.woob)
		} else {
			n, err = Send(int(fd), c.wbuf[c.wn:], c.wflags)
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			c.werr = os.NewSyscallError("write", err)
			return true
		}
		c.woob = nil // sent, with the first byte
		c.wn += n
	}
	return true
}

// WriteBuffers writes all of bufs, in order, with writev(2): one system
// call for many buffers while the socket has room.
func (c *Conn) WriteBuffers(bufs [][]byte) (int64, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wiov = c.wiov[:0]
	for _, b := range bufs {
		if len(b) > 0 {
			var v syscall.Iovec
			v.Base = &b[0]
			v.SetLen(len(b))
			c.wiov = append(c.wiov, v)
		}
	}
	c.wnext, c.wn, c.werr = 0, 0, nil
	err := c.rc.Write(c.writevFn)
	clear(c.wiov) // drop the references to bufs
	if err == nil {
		err = c.werr
	}
	return int64(c.wn), err
}

// maxIovecs is what one writev(2) takes (IOV_MAX).
const maxIovecs = 1024

// writevReady is WriteBuffers' RawConn callback: it writes until every
// buffer is out, and reports false (wait for room) when the socket's
// buffer is full.
func (c *Conn) writevReady(fd uintptr) bool {
	for c.wnext < len(c.wiov) {
		iov := c.wiov[c.wnext:min(len(c.wiov), c.wnext+maxIovecs)]
		n, err := writev(int(fd), iov)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			c.werr = os.NewSyscallError("writev", err)
			return true
		}
		c.wn += n
		// Past the buffers written whole, and into the one cut short.
		for n > 0 {
			v := &c.wiov[c.wnext]
			if uint64(n) < v.Len {
				v.Base = (*byte)(unsafe.Add(unsafe.Pointer(v.Base), n))
				v.Len -= uint64(n)
				break
			}
			n -= int(v.Len)
			c.wnext++
		}
	}
	return true
}

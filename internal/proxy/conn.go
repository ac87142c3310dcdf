package proxy

import (
	"net"
	"syscall"
	"time"

	"nave/internal/http1"
)

// conn is one connection to an upstream server, with the buffers it
// reads and renders with; they go with it into the pool and back, so a
// request served on a pooled connection allocates nothing.
type conn struct {
	nc    net.Conn
	rc    syscall.RawConn // for the liveness peek; nil when nc has none
	srv   *server
	in    http1.Input
	src   deadlineReader
	resp  http1.Response
	out   []byte // the request head is rendered here
	buf   []byte // response body bytes pass through here
	reuse bool   // came from the pool: the server may have closed it meanwhile
	// private: opened with a PROXY protocol header naming one client, so
	// never pooled.
	private bool

	idleSince time.Time
	peekFn    func(fd uintptr) bool // c.peek, bound once
	peekDead  bool
	peekByte  [1]byte
}

// Buffer sizes: the read buffer takes a whole response head (it grows up
// to the header limit when one does not fit); body bytes pass through buf.
const (
	readBufferSize = 8 << 10
	bodyBufferSize = 32 << 10
)

func newConn(nc net.Conn, s *server, read time.Duration) *conn {
	c := &conn{nc: nc, srv: s, out: make([]byte, 0, 2<<10)}
	c.src = deadlineReader{nc: nc, timeout: read}
	c.in.Src = &c.src
	c.in.SetBuffer(make([]byte, readBufferSize), 0)
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.rc = rc
			c.peekFn = c.peek
		}
	}
	return c
}

func (c *conn) close() { c.nc.Close() }

// deadlineReader reads from nc with a deadline timeout from each read: the
// time allowed between two reads.
type deadlineReader struct {
	nc      net.Conn
	timeout time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.timeout > 0 {
		d.nc.SetReadDeadline(time.Now().Add(d.timeout))
	}
	return d.nc.Read(p)
}

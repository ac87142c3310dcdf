package proxy

import (
	"net"
	"syscall"
	"time"

	"nave/internal/http1"
	"nave/internal/rawio"
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
	out   []byte  // the request head is rendered here
	buf   []byte  // body bytes pass through here; from Handler.bufs, nil until needed
	bufp  *[]byte // buf's pool entry
	reuse bool    // came from the pool: the server may have closed it meanwhile
	// private: opened with a PROXY protocol header naming one client, so
	// never pooled.
	private bool

	idleSince time.Time
	readDue   time.Time             // the read deadline set on nc
	writeDue  time.Time             // the write deadline set on nc
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
	c.src = deadlineReader{c: c, timeout: read}
	c.in.Src = &c.src
	c.in.SetBuffer(make([]byte, readBufferSize), 0)
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.rc = rc
			c.peekFn = c.peek
		}
	}
	if rw, err := rawio.New(nc); err == nil {
		c.nc = rw // reads and writes by raw system calls (see rawio)
	}
	return c
}

func (c *conn) close() { c.nc.Close() }

// deadlineReader reads from its conn with a deadline timeout from each
// read: the time allowed between two reads. A read the caller armed
// already (the response head's, with its own timeout) uses that one.
type deadlineReader struct {
	c       *conn
	timeout time.Duration
	armed   bool
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.armed {
		d.armed = false
	} else {
		d.c.armRead(time.Now(), d.timeout)
	}
	return d.c.nc.Read(p)
}

// armRead and armWrite set the deadline now+timeout, but leave one set
// moments ago in place when the new one would come less than an eighth
// of timeout later: on a busy connection the runtime's timers are then
// touched every few seconds, not on every request, and a timeout is
// between 7/8 of its value and its value.
func (c *conn) armRead(now time.Time, timeout time.Duration) {
	if due, ok := moveDeadline(&c.readDue, now, timeout); ok {
		c.nc.SetReadDeadline(due)
	}
}

func (c *conn) armWrite(now time.Time, timeout time.Duration) {
	if due, ok := moveDeadline(&c.writeDue, now, timeout); ok {
		c.nc.SetWriteDeadline(due)
	}
}

func moveDeadline(cur *time.Time, now time.Time, timeout time.Duration) (time.Time, bool) {
	if timeout <= 0 {
		if cur.IsZero() {
			return time.Time{}, false
		}
		*cur = time.Time{}
		return time.Time{}, true // none
	}
	due := now.Add(timeout)
	if later := due.Sub(*cur); later >= 0 && later < timeout/8 {
		return *cur, false
	}
	*cur = due
	return due, true
}

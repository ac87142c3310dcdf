package server

// The connection as http1 sees it: reads and writes under the phase's
// deadline, MSG_MORE for heads before a file, sendfile in chunks.

import (
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"nave/internal/servermetrics"
)

// Read is the request source for http1: it applies the head deadline
// (from the request's first byte) or the body deadline (between reads).
func (c *conn) Read(p []byte) (int, error) {
	switch c.phase {
	case phaseHead:
		// The head did not come whole: the connection waits for the
		// rest of it (a slow client, or a slowloris).
		c.move(servermetrics.ConnReading)
		if !c.readDeadline.Equal(c.headDeadline) {
			c.readDeadline = c.headDeadline
			c.nc.SetReadDeadline(c.headDeadline)
		}
	case phaseBody:
		c.extendReadAt(time.Now(), c.s.cfg.bodyTimeout())
	}
	return c.nc.Read(p)
}

// Upgraded is told by http1 that the handler took the connection over
// (101 Switching Protocols): reads have no deadline from then on, as a
// WebSocket may be quiet for long; writes keep the write timeout.
func (c *conn) Upgraded() {
	c.phase = phaseUpgraded
	c.readDeadline = time.Time{}
	c.nc.SetReadDeadline(time.Time{})
}

// SetReadDeadline and SetWriteDeadline are for the handler of an upgraded
// connection (through http1's upgraded stream), which may bound its own
// waits. Once it sets a write deadline the server's write timeout no
// longer applies. They may be called from the handler's other goroutines
// (a WebSocket's writer, its Close): they touch only nc and, for writes,
// fields that only the upgraded connection's writes (which the handler
// serializes) read.
func (c *conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.ownWriteDeadline = true
	return c.nc.SetWriteDeadline(t)
}

// Write is the response destination for http1, under the write deadline.
func (c *conn) Write(p []byte) (int, error) {
	c.extendWrite()
	if c.rw != nil && c.tlsState == nil {
		return c.rw.Write(p)
	}
	return c.nc.Write(p)
}

// WriteBuffers is http1's gathered write (a head and a large body): one
// writev on a plain socket; over TLS, one write after another.
func (c *conn) WriteBuffers(bufs [][]byte) (int64, error) {
	if c.rw == nil || c.tlsState != nil {
		var n int64
		for _, b := range bufs {
			m, err := c.Write(b)
			n += int64(m)
			if err != nil {
				return n, err
			}
		}
		return n, nil
	}
	c.extendWrite()
	return c.rw.WriteBuffers(bufs)
}

// WriteMore is Write with MSG_MORE: the kernel holds p back until the
// next write (the file that follows, by sendfile) so that a response head
// shares the body's first packet, as nginx's tcp_nopush does.
func (c *conn) WriteMore(p []byte) (int, error) {
	if c.rw == nil || c.tlsState != nil {
		return c.Write(p)
	}
	c.extendWrite()
	return c.rw.WriteFlags(p, syscall.MSG_MORE)
}

// stream is the connection for crypto/tls to run over, or for HTTP/2: the
// TCP socket read and written by raw system calls (see rawio), unless it
// is TLS already or a PROXY protocol header's reading left bytes to be read
// again in front of it.
func (c *conn) stream() net.Conn {
	if c.rw != nil && c.nc == net.Conn(c.sock) {
		return c.rw
	}
	return c.nc
}

// sendfileChunk bounds one sendfile call, so the write deadline applies
// between chunks rather than to the whole file.
const sendfileChunk = 4 << 20

// ReadFrom lets http1 send files with sendfile(2) through *net.TCPConn.
// The write deadline is renewed for each chunk.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.nc.(io.ReaderFrom)
	lr, limited := r.(*io.LimitedReader)
	if !ok || !limited {
		// TLS, or a reader of unknown size: copy through a pooled buffer
		// (io.Copy would allocate one per response).
		c.extendWrite()
		bp := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(bp)
		if c.batch == nil {
			return io.CopyBuffer(writerOnly{c}, r, *bp)
		}
		c.batch.Hold()
		n, err := io.CopyBuffer(writerOnly{c}, r, *bp)
		if serr := c.batch.Send(); err == nil {
			err = serr
		}
		return n, err
	}
	left := lr.N
	defer func() { lr.N = left }()
	var total int64
	for left > 0 {
		c.extendWrite()
		chunk := min(left, sendfileChunk)
		lr.N = chunk
		n, err := rf.ReadFrom(lr)
		total += n
		left -= n
		if err != nil || n < chunk {
			return total, err
		}
	}
	return total, nil
}

type writerOnly struct{ io.Writer }

// copyBuffers hold the buffers of copies that cannot use sendfile: a
// TLS record's worth, so that each write makes one full record.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// extendReadAt sets the read deadline to now+d, unless the one already
// set is within an eighth of that: deadlines cost a timer update, and
// under keep-alive load most requests then set none. It returns now.
func (c *conn) extendReadAt(now time.Time, d time.Duration) time.Time {
	if dl := now.Add(d); dl.Sub(c.readDeadline) > d/8 || c.readDeadline.After(dl) {
		c.readDeadline = dl
		c.nc.SetReadDeadline(dl)
	}
	return now
}

func (c *conn) extendWrite() {
	if c.ownWriteDeadline {
		return
	}
	d := c.s.cfg.writeTimeout()
	now := time.Now()
	c.wrote = now
	if c.firstWrite.IsZero() {
		c.firstWrite = now
	}
	if dl := now.Add(d); dl.Sub(c.writeDeadline) > d/8 {
		c.writeDeadline = dl
		c.nc.SetWriteDeadline(dl)
	}
}

package http2

import "time"

// Output: the buffer frames gather in, its writer, and the waits on it.

// outCap is how much output may wait in the buffer: past it a stream
// writes (or waits for the writer) before it adds more. Large, because a
// write of the socket costs more than its bytes (the TCP send path, waking
// the receiver): a 1 MiB body written in 256 KiB writes took a fifth less
// CPU than in 64 KiB ones, and 16 KiB ones a third more.
const outCap = 256 << 10

// A large output buffer holds the DATA of a body: a connection takes one
// when its own buffer has no room for a frame, and gives it back once it
// is written, so that it holds one only while it sends a large body. Those
// not in use wait in a bounded free list. The connection's own buffers
// grow by append and stay with it (and with the pooled Conn).
const largeOutput = outCap + 64<<10

var largeOutputs = make(chan []byte, 64)

func getLargeOutput() []byte {
	select {
	case b := <-largeOutputs:
		return b[:0]
	default:
		return make([]byte, 0, largeOutput)
	}
}

func putLargeOutput(b []byte) {
	select {
	case largeOutputs <- b[:0]:
	default:
	}
}

// frameRoom is the largest DATA payload that fits in a large output
// buffer after what is pending (which is less than outCap). mu is held.
func (c *Conn) frameRoom() int64 {
	return int64(largeOutput - frameHeaderLen - len(c.out))
}

// reserveLocked makes room for n more bytes of output, moving to a large
// buffer when the small one is full. mu is held.
func (c *Conn) reserveLocked(n int) {
	if cap(c.out)-len(c.out) >= n || cap(c.out) == largeOutput || len(c.out)+n > largeOutput {
		return
	}
	b := append(getLargeOutput(), c.out...)
	if c.smallOut == nil {
		c.smallOut = c.out[:0] // back in use once the large one is written
	}
	c.out = b
}

// flushLocked writes the pending output unless another goroutine is
// writing already (it picks this output up when it is done). mu is held;
// it is released during the write.
func (c *Conn) flushLocked() {
	for len(c.out) > 0 && !c.writing && c.err == nil {
		c.writing = true
		buf := c.out
		c.out = c.spare[:0]
		now := time.Now()
		if dl := now.Add(c.set.write); !c.closing && dl.Sub(c.writeDl) > c.set.write/8 {
			c.writeDl = dl
			c.nc.SetWriteDeadline(dl)
		}
		c.mu.Unlock()
		if c.tr != nil {
			c.tr.outbound(buf) // the writer's alone, as the write is
		}
		var err error
		if b := c.info.Batch; b != nil && len(buf) > 16<<10 {
			b.Hold()
			_, err = c.nc.Write(buf)
			if serr := b.Send(); err == nil {
				err = serr
			}
		} else {
			_, err = c.nc.Write(buf)
		}
		c.mu.Lock()
		if cap(buf) == largeOutput {
			// Written: back to the free list, and a small buffer in its
			// place, so that a connection holds a large one only while
			// it sends a large body.
			putLargeOutput(buf)
			buf, c.smallOut = c.smallOut, nil
		}
		c.spare = buf[:0]
		c.writing = false
		if err != nil {
			c.fail(err)
		}
		c.wakeAll()
	}
	if c.drainedLocked() {
		c.nc.SetReadDeadline(time.Unix(1, 0)) // the reader ends the connection
	}
}

// drainedLocked: the GOAWAY is out, no stream is left and nothing is left
// to send, so the connection may close. A write still under way keeps it
// open: closing the socket would cut the last response short. mu is held.
func (c *Conn) drainedLocked() bool {
	return c.goAway && c.running == 0 && len(c.streams) == 0 && !c.writing && len(c.out) == 0
}

// kick sends the output now, unless the reader will at the end of its
// batch. mu is held.
func (c *Conn) kick() {
	if !c.batching {
		c.flushLocked()
	}
}

// wakeAll wakes every stream waiting on the connection (for its window or
// room to write). mu is held.
func (c *Conn) wakeAll() {
	for _, st := range c.waiters {
		st.signal()
	}
	clear(c.waiters)
	c.waiters = c.waiters[:0]
}

// httpDate is the IMF-fixdate of t, formatted once a second. mu is held.
func (c *Conn) httpDate(t time.Time) []byte {
	if sec := t.Unix(); sec != c.dateSec || c.date == nil {
		c.dateSec = sec
		c.date = t.UTC().AppendFormat(c.date[:0], "Mon, 02 Jan 2006 15:04:05 GMT")
	}
	return c.date
}

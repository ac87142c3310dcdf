package websocket

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// MessageType is a data message's type (RFC 6455 §5.6).
type MessageType uint8

// The message types.
const (
	Text   MessageType = opText
	Binary MessageType = opBinary
)

// Defaults for Options' zero fields.
const (
	DefaultMaxMessage   = 16 << 20 // uvicorn's ws_max_size
	DefaultCloseTimeout = 5 * time.Second
)

// Options configure a Conn. The zero value works: 16 MiB messages, no
// compression, no idle pings, no write timeout of its own.
type Options struct {
	// MaxMessage is the largest message received, as reassembled and as
	// decompressed; 0 means DefaultMaxMessage. A larger one fails the
	// connection with 1009.
	MaxMessage int64
	// Compression accepts permessage-deflate when the client offers it.
	Compression bool
	// PingInterval: a ping is sent after this much silence from the
	// client; 0: never.
	PingInterval time.Duration
	// PingTimeout: when nothing (a pong or anything else) arrives within
	// it after a ping, the connection fails with 1011; 0: never.
	PingTimeout time.Duration
	// WriteTimeout bounds each frame written; 0 leaves writes to the
	// server's own write timeout.
	WriteTimeout time.Duration
	// CloseTimeout bounds Close's wait for the client's close frame; 0
	// means DefaultCloseTimeout.
	CloseTimeout time.Duration
}

// CloseError is how a Conn's read side ends: the peer closed (Code is its
// code, 1005 for a close without one), nave failed the connection for a
// protocol error (Local; Code is the one sent: 1002, 1007, 1009, 1011),
// or the connection was lost without a close (1006, Err says how).
type CloseError struct {
	Code   int
	Reason string
	Local  bool
	Err    error
}

func (e *CloseError) Error() string {
	switch {
	case e.Local:
		return "websocket: failed the connection: " + closeText(e.Code, e.Reason)
	case e.Err != nil:
		return "websocket: connection lost: " + e.Err.Error()
	}
	return "websocket: closed by the peer: " + closeText(e.Code, e.Reason)
}

func (e *CloseError) Unwrap() error { return e.Err }

var (
	errTooBig       = errors.New("websocket: message too big")
	errCloseTimeout = errors.New("websocket: no close from the peer in time")
	errMessageType  = errors.New("websocket: message type must be Text or Binary")
)

// readBufferSize is the buffer frame headers and small frames are read
// through; larger payloads are read straight into the message.
const readBufferSize = 4 << 10

// writeBufferSize is the largest frame sent with one write, header and
// payload copied together; larger payloads go in a second write.
const writeBufferSize = 4 << 10

// deadliner is a stream whose waits can be bounded: nave's upgraded
// HTTP/1.1 connection, a net.Conn.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// Conn is an accepted WebSocket. Read is for one goroutine at a time;
// Write and Close may be called from any goroutine, also while a Read is
// in progress.
type Conn struct {
	rw  io.ReadWriteCloser
	dl  deadliner // nil when rw cannot take deadlines
	d   *deflate  // nil without permessage-deflate
	max int64
	opt Options // with defaults resolved

	// The read side, owned by the goroutine holding rmu.
	rmu      sync.Mutex
	rbuf     []byte
	r, w     int // unread bytes are rbuf[r:w]
	ctl      [maxControl]byte
	zbuf     []byte // a compressed message being reassembled
	utf      utf8Check
	rerr     error     // sticky once the read side ended
	lastRecv time.Time // with pings: when bytes last arrived
	pingSent time.Time // with pings: when the unanswered ping went; zero if none
	discard  []byte    // what Close reads while it waits

	// closing is set, and closeBy with it under dmu, once Close waits for
	// the peer's close: the reader's deadline is then at most closeBy.
	closing atomic.Bool
	dmu     sync.Mutex
	closeBy time.Time // guarded by dmu
	readDL  time.Time // the read deadline last set; guarded by dmu

	// The write side: wmu guards the fields below it.
	wmu       sync.Mutex
	wbuf      []byte
	writeDL   time.Time
	sentClose bool
	werr      error

	done     chan struct{} // closed once the read side ended
	doneOnce sync.Once
}

func newConn(rw io.ReadWriteCloser, opt Options, d *deflate) *Conn {
	c := &Conn{rw: rw, d: d, opt: opt, max: opt.MaxMessage, done: make(chan struct{})}
	if c.max <= 0 {
		c.max = DefaultMaxMessage
	}
	if c.opt.CloseTimeout <= 0 {
		c.opt.CloseTimeout = DefaultCloseTimeout
	}
	if dl, ok := rw.(deadliner); ok && dl.SetReadDeadline(time.Time{}) == nil {
		c.dl = dl
	}
	if c.dl == nil {
		c.opt.PingInterval, c.opt.WriteTimeout = 0, 0
	}
	if c.opt.PingInterval > 0 {
		c.lastRecv = time.Now()
	}
	c.rbuf = make([]byte, readBufferSize)
	c.wbuf = make([]byte, 0, writeBufferSize)
	return c
}

// Compressed reports whether permessage-deflate is in use.
func (c *Conn) Compressed() bool { return c.d != nil }

// Read reads one whole data message, appending it to buf[:0] (pass the
// returned slice back to reuse its memory). Meanwhile it answers pings,
// sends the idle ping, and answers the peer's close: then, and whenever
// the read side ends, it returns a *CloseError, and returns it again on
// every later call.
func (c *Conn) Read(buf []byte) (MessageType, []byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.read(buf)
}

// read is Read with rmu held.
func (c *Conn) read(buf []byte) (MessageType, []byte, error) {
	if c.rerr != nil {
		return 0, buf[:0], c.rerr
	}
	t, msg, err := c.readMessage(buf[:0])
	if err != nil {
		c.rerr = err
		c.doneOnce.Do(func() { close(c.done) })
	}
	return t, msg, err
}

// readMessage reads frames until a data message is complete.
func (c *Conn) readMessage(dst []byte) (MessageType, []byte, error) {
	var typ MessageType
	started, compressed := false, false
	for {
		h, err := c.readHeader()
		if err != nil {
			return 0, dst, err
		}
		if err := c.check(&h, started); err != nil {
			return 0, dst, err
		}
		if h.op >= opClose {
			if err := c.control(&h); err != nil {
				return 0, dst, err
			}
			continue
		}
		if h.op != opContinuation {
			typ, started, compressed = MessageType(h.op), true, h.rsv&rsv1 != 0
			c.utf = utf8Check{}
		}
		if compressed {
			if int64(len(c.zbuf))+h.length > c.max {
				return 0, dst, c.fail(1009, "message too big")
			}
			c.zbuf, err = c.readPayload(c.zbuf, &h, false)
		} else {
			if int64(len(dst))+h.length > c.max {
				return 0, dst, c.fail(1009, "message too big")
			}
			dst, err = c.readPayload(dst, &h, typ == Text)
		}
		if err != nil {
			return 0, dst, err
		}
		if h.fin {
			break
		}
	}
	if compressed {
		var err error
		dst, err = c.inflate(dst, typ)
		if err != nil {
			return 0, dst, err
		}
	}
	if typ == Text && !c.utf.complete() {
		return 0, dst, c.fail(1007, "invalid UTF-8")
	}
	return typ, dst, nil
}

// inflate decompresses the message in zbuf onto dst.
func (c *Conn) inflate(dst []byte, typ MessageType) ([]byte, error) {
	start := len(dst)
	dst, err := c.d.inflate(dst, c.zbuf, c.max)
	c.zbuf = c.zbuf[:0]
	if cap(c.zbuf) > keepScratch {
		c.zbuf = nil
	}
	switch {
	case errors.Is(err, errTooBig):
		return dst, c.fail(1009, "message too big")
	case err != nil:
		return dst, c.fail(1007, "invalid compressed data")
	case typ == Text && !c.utf.valid(dst[start:]):
		return dst, c.fail(1007, "invalid UTF-8")
	}
	return dst, nil
}

// check applies RFC 6455 §5.2–§5.5 to a frame header; started says a
// fragmented message is in progress.
func (c *Conn) check(h *header, started bool) error {
	switch {
	case h.rsv&(rsv2|rsv3) != 0:
		return c.fail(1002, "reserved bit set")
	case h.rsv&rsv1 != 0 && (c.d == nil || (h.op != opText && h.op != opBinary)):
		// RFC 7692 §6: RSV1 only on a message's first frame, and only
		// with the extension.
		return c.fail(1002, "reserved bit set")
	case h.op > opBinary && h.op < opClose, h.op > opPong:
		return c.fail(1002, "reserved opcode")
	case !h.masked:
		return c.fail(1002, "unmasked frame") // §5.1
	case h.op >= opClose && (!h.fin || h.length > maxControl):
		return c.fail(1002, "bad control frame") // §5.5
	case h.op == opContinuation && !started:
		return c.fail(1002, "continuation without a message")
	case (h.op == opText || h.op == opBinary) && started:
		return c.fail(1002, "new message inside a fragmented one")
	}
	return nil
}

// control handles a ping, pong or close frame.
func (c *Conn) control(h *header) error {
	p, err := c.readPayload(c.ctl[:0], h, false)
	if err != nil {
		return err
	}
	switch h.op {
	case opPing:
		c.wmu.Lock()
		if !c.sentClose {
			err = c.writeFrame(finBit|opPong, p)
		}
		c.wmu.Unlock()
		return err
	case opPong:
		return nil // an answer to nave's ping, or unsolicited (§5.5.3)
	}
	return c.peerClose(p)
}

// peerClose answers the peer's close frame (RFC 6455 §5.5.1, §7.4).
func (c *Conn) peerClose(p []byte) error {
	code, reason := 1005, ""
	switch {
	case len(p) == 1:
		return c.fail(1002, "bad close frame")
	case len(p) >= 2:
		code = int(p[0])<<8 | int(p[1])
		if !validCloseCode(code) {
			return c.fail(1002, "bad close code")
		}
		if !utf8.Valid(p[2:]) {
			return c.fail(1007, "invalid UTF-8 in close reason")
		}
		reason = string(p[2:])
	}
	c.wmu.Lock()
	if !c.sentClose {
		c.sentClose = true
		c.writeFrame(finBit|opClose, p[:min(len(p), 2)]) // echo the code (§5.5.1)
	}
	c.wmu.Unlock()
	c.rw.Close()
	return &CloseError{Code: code, Reason: reason}
}

// fail fails the connection (RFC 6455 §7.1.7): a close frame with code,
// unless one went already, then the stream closes.
func (c *Conn) fail(code int, reason string) error {
	c.wmu.Lock()
	if !c.sentClose {
		c.sentClose = true
		c.writeFrame(finBit|opClose, closePayload(c.ctl[:0], code, reason))
	}
	c.wmu.Unlock()
	c.rw.Close()
	return &CloseError{Code: code, Reason: reason, Local: true}
}

func closePayload(b []byte, code int, reason string) []byte {
	return append(append(b, byte(code>>8), byte(code)), reason...)
}

// lost is the error for a stream that failed under a Read.
func lost(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &CloseError{Code: 1006, Err: err}
}

// readHeader reads the next frame header.
func (c *Conn) readHeader() (header, error) {
	if err := c.need(2); err != nil {
		return header{}, err
	}
	n := headerSize(c.rbuf[c.r+1])
	if err := c.need(n); err != nil {
		return header{}, err
	}
	h, ok := parseHeader(c.rbuf[c.r : c.r+n])
	c.r += n
	if !ok {
		return h, c.fail(1002, "bad frame length")
	}
	return h, nil
}

// need reads until n bytes (n ≤ maxHeader) are buffered.
func (c *Conn) need(n int) error {
	for c.w-c.r < n {
		if c.r > 0 && len(c.rbuf)-c.r < maxHeader {
			c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
			c.r = 0
		}
		m, err := c.readSome(c.rbuf[c.w:])
		c.w += m
		if err != nil {
			return err
		}
	}
	return nil
}

// readPayload reads h's payload onto dst, unmasking it, and for a text
// message checking UTF-8 as it arrives. dst has been checked to hold it
// within MaxMessage; it grows as bytes arrive.
func (c *Conn) readPayload(dst []byte, h *header, text bool) ([]byte, error) {
	rem, pos := h.length, 0
	for rem > 0 {
		dst = grow(dst, rem)
		free := dst[len(dst):cap(dst)]
		if int64(len(free)) > rem {
			free = free[:rem]
		}
		var n int
		switch {
		case c.r < c.w:
			n = copy(free, c.rbuf[c.r:c.w])
			c.r += n
		case len(free) >= len(c.rbuf):
			var err error
			if n, err = c.readSome(free); err != nil {
				return dst, err
			}
		default:
			c.r, c.w = 0, 0
			m, err := c.readSome(c.rbuf)
			c.w = m
			if err != nil {
				return dst, err
			}
			continue
		}
		pos = mask(h.key, pos, free[:n])
		if text && !c.utf.valid(free[:n]) {
			return dst, c.fail(1007, "invalid UTF-8")
		}
		dst = dst[:len(dst)+n]
		rem -= int64(n)
	}
	return dst, nil
}

// readSome reads at least one byte into p, under the read deadline that
// the idle ping and Close's wait set, sending the ping when it is due.
func (c *Conn) readSome(p []byte) (int, error) {
	for {
		c.armRead()
		n, err := c.rw.Read(p)
		if n > 0 {
			if c.opt.PingInterval > 0 {
				c.lastRecv, c.pingSent = time.Now(), time.Time{}
			}
			return n, nil
		}
		switch {
		case err == nil:
			continue
		case c.dl != nil && errors.Is(err, os.ErrDeadlineExceeded):
			if err := c.timedOut(); err != nil {
				return 0, err
			}
		default:
			return 0, lost(err)
		}
	}
}

// armRead sets the read deadline the idle ping and Close's wait call
// for. Without pings it costs nothing until Close.
func (c *Conn) armRead() {
	if c.dl == nil || c.opt.PingInterval == 0 && !c.closing.Load() {
		return
	}
	c.dmu.Lock()
	defer c.dmu.Unlock()
	var dl time.Time
	switch {
	case c.opt.PingInterval == 0:
	case c.pingSent.IsZero():
		dl = c.lastRecv.Add(c.opt.PingInterval)
		// A deadline a little early is only checked and renewed:
		// moving it costs a timer update, so it moves by eighths.
		if c.closeBy.IsZero() && !c.readDL.IsZero() && !dl.Before(c.readDL) && dl.Sub(c.readDL) < c.opt.PingInterval/8 {
			return
		}
	case c.opt.PingTimeout > 0:
		dl = c.pingSent.Add(c.opt.PingTimeout)
	}
	if !c.closeBy.IsZero() && (dl.IsZero() || c.closeBy.Before(dl)) {
		dl = c.closeBy
	}
	if !dl.Equal(c.readDL) {
		c.readDL = dl
		c.dl.SetReadDeadline(dl)
	}
}

// timedOut handles the read deadline's expiry: Close's wait is over, or
// the ping is due, or the ping went unanswered.
func (c *Conn) timedOut() error {
	now := time.Now()
	c.dmu.Lock()
	closeBy := c.closeBy
	c.dmu.Unlock()
	switch {
	case !closeBy.IsZero() && !now.Before(closeBy):
		return &CloseError{Code: 1006, Err: errCloseTimeout}
	case c.opt.PingInterval == 0:
		return nil // a deadline left from before: armRead renews it
	case !c.pingSent.IsZero():
		if c.opt.PingTimeout > 0 && now.Sub(c.pingSent) >= c.opt.PingTimeout {
			return c.fail(1011, "ping timeout")
		}
	case now.Sub(c.lastRecv) >= c.opt.PingInterval:
		c.pingSent = now
		c.wmu.Lock()
		var err error
		if !c.sentClose {
			err = c.writeFrame(finBit|opPing, nil)
		}
		c.wmu.Unlock()
		if err != nil {
			return lost(err)
		}
	}
	return nil
}

// Write sends one message, t Text (p must be UTF-8; it is not checked)
// or Binary, as one frame, compressed when permessage-deflate is in use
// and compressing pays. It is safe to call concurrently with Read and
// with other Writes, which it waits for. After the close handshake began
// it returns ErrClosed.
func (c *Conn) Write(t MessageType, p []byte) error {
	if t != Text && t != Binary {
		return errMessageType
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.sentClose {
		return ErrClosed
	}
	b0 := finBit | byte(t)
	if c.d != nil && len(p) >= minCompress && len(p) <= c.d.maxCompress {
		if z := c.d.deflate(p); len(z) < len(p) {
			b0 |= rsv1
			p = z
		}
		defer c.d.release()
	}
	return c.writeFrame(b0, p)
}

// writeFrame sends one unmasked frame. wmu is held.
func (c *Conn) writeFrame(b0 byte, p []byte) error {
	if c.werr != nil {
		return c.werr
	}
	if c.opt.WriteTimeout > 0 {
		now := time.Now()
		if dl := now.Add(c.opt.WriteTimeout); dl.Sub(c.writeDL) > c.opt.WriteTimeout/8 {
			c.writeDL = dl
			c.dl.SetWriteDeadline(dl)
		}
	}
	b := appendHeader(c.wbuf[:0], b0, len(p))
	var err error
	if len(b)+len(p) <= cap(c.wbuf) {
		_, err = c.rw.Write(append(b, p...))
	} else if _, err = c.rw.Write(b); err == nil {
		_, err = c.rw.Write(p)
	}
	if err != nil {
		c.werr = err
	}
	return err
}

// Close starts the close handshake (RFC 6455 §7.1.2) with code (one an
// endpoint may send: 1000–1003, 1007–1014, 3000–4999) and reason (at
// most 123 bytes of UTF-8), waits up to Options.CloseTimeout for the
// peer's close (reading, and dropping, what comes before it, unless a
// Read in progress does that), and then closes the stream. A Read in
// progress returns once the peer's close arrives or the wait ends.
func (c *Conn) Close(code int, reason string) error {
	if !sendableCloseCode(code) || len(reason) > maxControl-2 || !utf8.ValidString(reason) {
		return ErrCloseCode
	}
	var payload [maxControl]byte
	c.wmu.Lock()
	var err error
	if !c.sentClose {
		c.sentClose = true
		err = c.writeFrame(finBit|opClose, closePayload(payload[:0], code, reason))
	}
	c.wmu.Unlock()
	if err == nil {
		c.awaitClose()
	}
	c.rw.Close()
	return err
}

// awaitClose waits, within the close timeout, for the read side to end
// (with the peer's close, normally): reading itself when no Read is in
// progress.
func (c *Conn) awaitClose() {
	c.closing.Store(true)
	c.dmu.Lock()
	c.closeBy = time.Now().Add(c.opt.CloseTimeout)
	if c.dl != nil {
		c.readDL = c.closeBy
		c.dl.SetReadDeadline(c.closeBy)
	}
	c.dmu.Unlock()
	if c.dl == nil {
		// Nothing bounds the reads: closing the stream is all that
		// can, where it does anything.
		t := time.AfterFunc(c.opt.CloseTimeout, func() { c.rw.Close() })
		defer t.Stop()
	}
	if c.rmu.TryLock() {
		for c.rerr == nil {
			_, c.discard, _ = c.read(c.discard)
		}
		c.discard = nil
		c.rmu.Unlock()
		return
	}
	timer := time.NewTimer(c.opt.CloseTimeout)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
	}
}

// Alive reports whether the stream beneath can still be used, as far as
// can be told without reading: false once it was closed under the Conn
// (the server closing its connections at shutdown), which a gateway that
// stopped reading for flow control would otherwise not notice. A stream
// without deadlines, and an HTTP/2 stream, always report true.
func (c *Conn) Alive() bool {
	if c.dl == nil {
		return true
	}
	c.dmu.Lock()
	defer c.dmu.Unlock()
	return c.dl.SetReadDeadline(c.readDL) == nil
}

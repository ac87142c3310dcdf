package http2

import (
	"io"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"nave/internal/servermetrics"
	"nave/internal/web"
)

// responseBufferSize is a stream's body buffer (web.Stream.Buffer).
const responseBufferSize = 8 << 10

// stream is one request and its response: the web.Stream beneath the
// handler's ResponseWriter, and the request body's reader. Streams are
// pooled whole, buffers included.
//
// Fields marked "mu" are guarded by the connection's mu; the rest belong
// to the goroutine running the handler.
type stream struct {
	c      *Conn
	id     uint32
	x      web.Exchange
	req    web.Request
	pseudo []byte // pseudo-header values and joined cookies; req's fields alias it
	buf    []byte
	wake   chan struct{} // signalled when something a waiter waits for may have changed
	timer  *time.Timer

	trailer *web.Header // the handler's trailer fields, from the head
	inline  bool        // the handler runs on the reader's goroutine, holding its role
	tunnel  bool        // upgraded by an extended CONNECT: reads have no deadline
	// readDl, writeDl: a tunnel's deadlines, set by its user (mu).
	readDl, writeDl time.Time
	detached        bool      // the reader role was handed off during this handler
	headAt          time.Time // when the response head went out, with metrics on

	body []byte // body bytes received and not yet read (mu)
	streamState
}

// streamState is what a stream starts each use with at zero, all of it
// guarded by the connection's mu.
type streamState struct {
	sendWindow int64
	recvWindow int64
	recvCredit int64
	received   int64 // body bytes received
	bodyOff    int   // body[:bodyOff] has been read
	remoteDone bool  // the client ended its side (END_STREAM)
	localDone  bool  // nave ended its side
	closed     bool  // reset, or gone from the connection's streams
	err        error // why the stream closed, for the handler
	expect     bool  // 100-continue is due before the body is first read
	waiting    bool  // in the connection's waiters
	// handlerDone: the handler returned. draining: and the stream stays
	// open for the rest of the request body, which is dropped.
	handlerDone, draining bool
	// gone is made by Gone, for a handler that watches for the client
	// leaving, and closed (goneShut) when the stream or connection ends.
	gone     chan struct{}
	goneShut bool
}

var streamPool = sync.Pool{New: func() any {
	st := &stream{buf: make([]byte, responseBufferSize), wake: make(chan struct{}, 1)}
	st.timer = time.NewTimer(time.Hour)
	st.timer.Stop()
	return st
}}

func newStream(c *Conn, id uint32) *stream {
	st := streamPool.Get().(*stream)
	st.c, st.id = c, id
	return st
}

// free returns st to the pool, keeping what it has grown: buffers, the
// request's header arenas and the response writer's.
func (st *stream) free() {
	select {
	case <-st.wake:
	default:
	}
	if cap(st.body) > 64<<10 {
		st.body = nil
	}
	st.c = nil
	st.req.Reset()
	st.pseudo, st.body = st.pseudo[:0], st.body[:0]
	st.inline, st.detached, st.trailer, st.tunnel = false, false, nil, false
	st.readDl, st.writeDl, st.headAt = time.Time{}, time.Time{}, time.Time{}
	st.streamState = streamState{}
	streamPool.Put(st)
}

// begin completes the request once its header block was accepted.
func (st *stream) begin(endStream bool) {
	c, r := st.c, &st.req
	r.Proto, r.Scheme, r.RemoteAddr, r.LocalAddr, r.Start, r.Arrived = web.HTTP2, "http", c.info.Remote, c.info.Local, c.now, c.now
	if c.info.TLS != nil {
		r.Scheme, r.TLS = "https", c.info.TLS
	}
	r.Body = st
	if endStream {
		st.remoteDone = true
		r.ContentLength = 0
	}
	st.expect = !endStream && web.EqualFold(r.Header.Get("expect"), "100-continue")
	st.x.Begin(st, r)
}

// run runs the handler for st, inline, and ends the stream. It returns
// errHandedOff when the handler gave the reader role away: the caller is
// then a stream goroutine and must leave the reader's state alone.
func (c *Conn) run(st *stream, h web.Handler) (err error) {
	st.inline = true
	gen := c.role.Load()
	defer c.handlers.Done()
	defer func() {
		// A panic outside the handler (which runHandler recovers): an
		// access-log hook, a bug of nave's own. The connection closes.
		// If this goroutine still holds the reader role it ends the
		// connection; if not, the reader does, once it sees the socket
		// closed. Either way this runs before handlers.Done, so c is
		// still this connection.
		v := recover()
		if v == nil {
			return
		}
		c.log.Error("HTTP/2 stream panic", "remote", c.info.Remote.String(), "panic", v, "stack", string(debug.Stack()))
		c.nc.Close()
		err = errHandedOff
		if c.role.Load() == gen {
			err = errPanicked
		}
	}()
	detached := c.serveStream(st, h)
	if detached {
		return errHandedOff
	}
	return nil
}

// serveStream calls the handler, recovering a panic, and completes the
// response. It reports whether the handler gave the reader role away; st
// is gone to the pool by then.
func (c *Conn) serveStream(st *stream, h web.Handler) (detached bool) {
	if c.runHandler(st, h) {
		if err := st.x.End(); err != nil {
			c.log.Debug("HTTP/2 response incomplete", "remote", c.info.Remote.String(), "stream", st.id, "err", err)
		}
	}
	if c.m != nil {
		// Request body bytes are counted as they arrive (onData).
		c.m.Requests.Done(&servermetrics.Exchange{
			Method: st.req.Method, Status: st.x.W.Status(),
			Start: st.req.Start, Head: st.headAt, Duration: time.Since(st.req.Start), BodyOut: st.x.W.BodyBytes(),
			Header: &st.req.Header, TrustedPeer: c.info.TrustedPeer,
		})
	}
	if c.cfg.AccessLog != nil {
		c.cfg.AccessLog(&st.req, &st.x.W)
	}
	detached = st.detached
	c.finishStream(st)
	return detached
}

func (c *Conn) runHandler(st *stream, h web.Handler) (ok bool) {
	defer func() {
		if ok {
			return
		}
		v := recover()
		c.log.Error("handler panic", "remote", c.info.Remote.String(), "method", string(st.req.Method),
			"target", string(st.req.Target), "panic", v, "stack", string(debug.Stack()))
		if st.x.W.Committed() {
			st.Abort()
			return
		}
		st.x.Restart()
		web.Error(&st.x.W, 500, "internal error")
		st.x.End()
	}()
	h.Serve(&st.x.W, &st.req)
	return true
}

// finishStream ends st's side after its handler. A response left
// unfinished is reset. A request whose body is still coming stays open,
// half-closed (local), its DATA counted and dropped, until the client ends
// it (RFC 9113 §5.1); past the concurrent streams allowed, or once the
// connection is going away, it is refused with NO_ERROR instead (§8.1).
func (c *Conn) finishStream(st *stream) {
	c.mu.Lock()
	if !st.closed && !st.localDone {
		c.resetLocked(st, ErrCodeInternal)
	}
	c.creditLocked(st, int64(len(st.body)-st.bodyOff))
	st.body, st.bodyOff = st.body[:0], 0
	c.running--
	if c.running == 0 {
		c.moveLocked(servermetrics.ConnIdle)
	}
	st.handlerDone = true
	if st.waiting {
		c.dropWaiter(st)
	}
	switch {
	case st.closed:
	case st.remoteDone:
		st.closeLocked(nil)
	case c.goAway || c.draining >= max(c.set.maxStreams/2, 1):
		// At most half the stream limit waits on bodies no one reads;
		// the rest are refused, so that new requests still have room.
		c.sendRSTLocked(st.id, ErrCodeNo)
		c.noteReset(st.id)
		st.closeLocked(nil)
	default:
		c.draining++
		st.draining = true
	}
	switch {
	case c.running > 0 || len(c.streams) > int(c.draining):
	case c.goAway:
		c.nc.SetReadDeadline(time.Unix(1, 0)) // the reader ends the connection
	default:
		// Idle now (draining streams aside: a client that stops sending
		// their bodies is as quiet as one with none). A reader that went
		// back to reading while this stream was open (its handler had
		// detached) reads with no deadline: the idle timeout starts here,
		// or a client that goes quiet keeps the connection for good.
		if dl := earliest(c.readDl, time.Now().Add(c.set.idle)); !dl.Equal(c.readDl) {
			c.readDl = dl
			c.nc.SetReadDeadline(dl)
			c.wakeForShutdown()
		}
	}
	c.kick()
	if st.closed {
		st.free()
	}
	c.mu.Unlock()
}

// closeLocked takes st off the connection and wakes its handler; a stream
// whose handler is done goes back to the pool. mu is held.
func (st *stream) closeLocked(err error) {
	if st.closed {
		return
	}
	c := st.c
	st.closed, st.remoteDone, st.localDone = true, true, true
	if st.err == nil {
		st.err = err
	}
	st.shutGoneLocked()
	delete(c.streams, st.id)
	st.signal()
	if st.draining {
		c.draining--
		st.free()
	}
}

// endBodyLocked marks the request body complete. mu is held.
func (st *stream) endBodyLocked() error {
	if cl := st.req.ContentLength; cl >= 0 && st.received != cl {
		return st.c.resetLocked(st, ErrCodeProtocol) // §8.1.1
	}
	st.remoteDone = true
	st.signal()
	if st.draining {
		st.closeLocked(nil)
	}
	return nil
}

func (st *stream) signal() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// detach hands the reader role to a new goroutine if this handler holds
// it, so that the connection's other streams go on while it waits.
func (st *stream) detach() {
	if !st.inline {
		return
	}
	st.inline, st.detached = false, true
	st.c.role.Add(1)
	go st.c.read()
}

// waitLocked waits until st is signalled or d passes; mu is held and is
// released meanwhile. onConn: the wait is for the connection (its window,
// or room in its output), so st joins the connection's waiters.
func (st *stream) waitLocked(d time.Duration, onConn bool) error {
	c := st.c
	if onConn && !st.waiting {
		st.waiting = true
		c.waiters = append(c.waiters, st)
	}
	c.mu.Unlock()
	st.detach()
	var err error
	if d == 0 {
		<-st.wake // no deadline: a tunnel (RFC 8441) may be quiet for long
	} else {
		st.timer.Reset(d)
		select {
		case <-st.wake:
		case <-st.timer.C:
			err = os.ErrDeadlineExceeded
		}
		st.timer.Stop()
	}
	c.mu.Lock()
	if st.waiting {
		c.dropWaiter(st)
	}
	return err
}

// dropWaiter takes st out of the connection's waiters. mu is held.
func (c *Conn) dropWaiter(st *stream) {
	st.waiting = false
	for i, w := range c.waiters {
		if w == st {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			return
		}
	}
}

// sendErr is why st can send no more, or nil. mu is held.
func (st *stream) sendErr() error {
	switch {
	case st.c.err != nil:
		return ErrConnClosed
	case st.closed:
		return st.err
	}
	return nil
}

// Read reads the request body: it waits for DATA (handing the reader
// role off first) and returns the window as the handler reads.
func (st *stream) Read(p []byte) (int, error) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	// The wait's deadline, from its start: a wake-up that brought no byte
	// (empty DATA, a SETTINGS frame) does not start the body timeout over.
	var dl time.Time
	for st.bodyOff == len(st.body) {
		switch {
		case st.remoteDone && !st.closed || st.closed && st.err == nil:
			return 0, io.EOF
		case st.closed:
			return 0, st.err
		case c.err != nil:
			return 0, ErrConnClosed
		}
		if st.expect {
			st.expect = false
			if err := st.interimLocked(100, nil); err != nil {
				return 0, err
			}
		}
		c.kick()
		var d time.Duration // none: a tunnel's reads wait as long as its user allows
		switch {
		case !st.tunnel:
			if dl.IsZero() {
				dl = time.Now().Add(c.set.body)
			}
			if d = time.Until(dl); d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
		case !st.readDl.IsZero():
			if d = time.Until(st.readDl); d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
		}
		if err := st.waitLocked(d, false); err != nil {
			return 0, err
		}
	}
	n := copy(p, st.body[st.bodyOff:])
	st.bodyOff += n
	if st.bodyOff == len(st.body) {
		st.body, st.bodyOff = st.body[:0], 0
	}
	c.creditLocked(st, int64(n))
	c.kick()
	return n, nil
}

// web.Stream

// Buffer implements web.Stream.
func (st *stream) Buffer() []byte { return st.buf }

// Flush implements web.Stream: HEADERS with the head, then DATA within
// the flow-control windows.
func (st *stream) Flush(h *web.Head, n int, tail []byte, end bool) error {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if h != nil {
		if err := st.headLocked(h, end && n+len(tail) == 0); err != nil {
			return err
		}
	}
	if err := st.dataLocked(st.buf[:n], end && len(tail) == 0); err != nil {
		return err
	}
	if err := st.dataLocked(tail, end); err != nil {
		return err
	}
	c.kick()
	return nil
}

// headLocked sends the response head as HEADERS (and CONTINUATION when
// larger than the peer's frame size). mu is held: HPACK's table changes
// in the order blocks go out.
func (st *stream) headLocked(h *web.Head, end bool) error {
	c := st.c
	if c.m != nil {
		st.headAt = time.Now()
	}
	if err := st.sendErr(); err != nil {
		return err
	}
	if len(c.out) >= outCap {
		if err := st.roomLocked(); err != nil {
			return err
		}
	}
	b := st.headBlock(h)
	st.trailer = h.Trailer
	if h.Bodiless {
		end = true
		st.trailer = nil
	}
	if end && st.hasTrailer() {
		st.appendHeaders(b, false)
		st.trailersLocked()
		return nil
	}
	st.appendHeaders(b, end)
	if end {
		st.localDone = true
	}
	return nil
}

// headBlock is the header block of a response head: the connection's
// remembered one when it is the same head, else encoded (and remembered
// when encoding it changed nothing). The request's id, which the
// ResponseWriter adds as the last field, differs on every response: the
// memo holds the head without it, and the id follows the block as a
// literal that does not change the table, under whatever name it goes.
// mu is held.
func (st *stream) headBlock(h *web.Head) []byte {
	c := st.c
	hd, date := h.Header, c.httpDate(st.req.Start)
	n := hd.Len()
	var idName, idValue []byte
	if f := st.req.IDField; f != "" && n > 0 {
		if name, value := hd.At(n - 1); web.EqualFold(name, f) {
			n--
			idName, idValue = name, value
		}
	}
	b := c.memo.lookup(c.enc.gen, h.Status, h.Length, date, hd, n)
	if b == nil {
		gen := c.enc.gen
		b = st.encodeHead(h, date, n)
		if c.enc.gen == gen {
			c.memo.remember(gen, h.Status, h.Length, date, hd, n, b)
		}
	} else if idName != nil {
		b = append(c.hbuf[:0], b...) // the memo's block stays as it is
	}
	if idName != nil {
		b = c.enc.AppendUnindexed(b, idName, web.TrimOWS(idValue))
		c.hbuf = b
	}
	return b
}

// encodeHead encodes a response head into c.hbuf: :status, the handler's
// first n fields but the connection-specific ones, Date and Server unless
// the handler set them, and content-length when the length is known. mu
// is held.
func (st *stream) encodeHead(h *web.Head, date []byte, n int) []byte {
	c, hd := st.c, h.Header
	b := c.enc.AppendStatus(c.hbuf[:0], h.Status)
	var hasDate, hasServer bool
	for i := range n {
		name, value := hd.At(i)
		switch responseField(name) {
		case fieldDropped:
			continue
		case fieldDate:
			hasDate = true
		case fieldServer:
			hasServer = true
		}
		b = c.enc.AppendField(b, name, web.TrimOWS(value))
	}
	if !hasDate {
		b = c.enc.appendField(b, dateName, date)
	}
	if !hasServer {
		b = c.enc.appendField(b, serverName, serverValue)
	}
	if h.Length >= 0 {
		var num [20]byte
		b = c.enc.appendField(b, lengthName, appendDecimal(num[:0], h.Length))
	}
	c.hbuf = b
	return b
}

func (st *stream) hasTrailer() bool { return st.trailer != nil && st.trailer.Len() > 0 }

// trailersLocked ends the stream with the handler's trailer fields, a
// HEADERS frame with END_STREAM (RFC 9113 §8.1). mu is held.
func (st *stream) trailersLocked() {
	c := st.c
	b := c.enc.BeginBlock(c.hbuf[:0])
	for i := range st.trailer.Len() {
		name, value := st.trailer.At(i)
		if !connectionSpecific(name) {
			b = c.enc.AppendField(b, name, web.TrimOWS(value))
		}
	}
	c.hbuf = b
	st.appendHeaders(b, true)
	st.localDone = true
}

// Field values go out with the whitespace around them trimmed: HTTP/1.1
// ignores it (RFC 9110 §5.5), HTTP/2 forbids it (RFC 9113 §8.2.1), and a
// handler or an app behind a gateway may well send it.

// appendHeaders frames a header block. mu is held.
func (st *stream) appendHeaders(b []byte, end bool) {
	c := st.c
	flags := uint8(0)
	if end {
		flags = flagEndStream
	}
	typ := frameHeaders
	for {
		n := min(len(b), c.peerFrame)
		f := flags
		if n == len(b) {
			f |= flagEndHeaders
		}
		c.out = appendFrameHeader(c.out, n, typ, f, st.id)
		c.out = append(c.out, b[:n]...)
		b = b[n:]
		if len(b) == 0 {
			return
		}
		typ, flags = frameContinuation, 0
	}
}

var (
	dateName    = []byte("date")
	serverName  = []byte("server")
	serverValue = []byte(web.ServerName)
	lengthName  = []byte("content-length")
)

// connectionSpecific: fields HTTP/2 does not carry (RFC 9113 §8.2.2), and
// Content-Length, which comes from the head's length.
// What headLocked does with a response field.
const (
	fieldSent    = iota
	fieldDropped // connection-specific
	fieldDate
	fieldServer
)

// responseField classifies a response field's name, in any case, with one
// look at its length.
func responseField(name []byte) int {
	switch len(name) {
	case 4:
		if web.EqualFold(name, "Date") {
			return fieldDate
		}
	case 6:
		if web.EqualFold(name, "Server") {
			return fieldServer
		}
	default:
		if connectionSpecific(name) {
			return fieldDropped
		}
	}
	return fieldSent
}

func connectionSpecific(name []byte) bool {
	switch len(name) {
	case 7:
		return web.EqualFold(name, "Upgrade")
	case 10:
		return web.EqualFold(name, "Connection") || web.EqualFold(name, "Keep-Alive")
	case 14:
		return web.EqualFold(name, "Content-Length")
	case 16:
		return web.EqualFold(name, "Proxy-Connection")
	case 17:
		return web.EqualFold(name, "Transfer-Encoding")
	}
	return false
}

func appendDecimal(b []byte, n int64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// dataLocked sends p as DATA frames within the windows, waiting for them
// to open; end sets END_STREAM on the last. mu is held.
func (st *stream) dataLocked(p []byte, end bool) error {
	c := st.c
	var dl time.Time // of the wait for the windows, from its start until a frame goes out
	for {
		if err := st.sendErr(); err != nil {
			return err
		}
		if st.localDone {
			return nil // a bodiless response: the head ended the stream
		}
		if len(p) == 0 && !end {
			return nil
		}
		if len(p) == 0 && st.hasTrailer() {
			st.trailersLocked()
			return nil
		}
		if len(c.out) >= outCap {
			if err := st.roomLocked(); err != nil {
				return err
			}
			continue
		}
		n := min(int64(len(p)), st.sendWindow, c.sendWindow, int64(c.peerFrame), c.frameRoom())
		if n <= 0 && len(p) > 0 {
			if err := st.windowLocked(&dl); err != nil {
				return err
			}
			continue
		}
		dl = time.Time{}
		flags := uint8(0)
		last := int(n) == len(p)
		if last && end && !st.hasTrailer() {
			flags = flagEndStream
			st.localDone = true
		}
		c.reserveLocked(frameHeaderLen + int(n))
		c.out = appendFrameHeader(c.out, int(n), frameData, flags, st.id)
		c.out = append(c.out, p[:n]...)
		st.sendWindow -= n
		c.sendWindow -= n
		p = p[n:]
		if last {
			if end && !st.localDone {
				st.trailersLocked()
			}
			return nil
		}
	}
}

// windowLocked waits for the windows to open, under the write timeout: a
// client that never opens them loses the stream, not nave's memory. *dl
// is the wait's deadline, set by its first call: a wake-up that opened no
// window (every write of the connection wakes its waiters, and a client
// can cause writes with PINGs) does not start the timeout over.
func (st *stream) windowLocked(dl *time.Time) error {
	st.c.kick()
	now := time.Now()
	if dl.IsZero() {
		*dl = now.Add(st.writeTimeout())
	}
	err := error(os.ErrDeadlineExceeded)
	if d := dl.Sub(now); d > 0 {
		err = st.waitLocked(d, true)
	}
	if err != nil {
		st.c.resetLocked(st, ErrCodeFlowControl)
		return err
	}
	return nil
}

// writeTimeout bounds a wait to send: the connection's write timeout, or
// the deadline the user of a tunnel set. mu is held.
func (st *stream) writeTimeout() time.Duration {
	if st.tunnel && !st.writeDl.IsZero() {
		return max(time.Until(st.writeDl), time.Nanosecond)
	}
	return st.c.set.write
}

// roomLocked makes room in the output: this goroutine writes it, or waits
// for the one writing. Either way it first gives up the reader role, so
// that the connection goes on reading meanwhile.
func (st *stream) roomLocked() error {
	c := st.c
	st.detach()
	if !c.writing {
		c.flushLocked()
		return st.sendErr()
	}
	if err := st.waitLocked(st.writeTimeout(), true); err != nil {
		c.resetLocked(st, ErrCodeCancel)
		return err
	}
	return nil
}

// ReadFrom implements web.Stream: DATA frames are read from r straight
// into the output buffer.
func (st *stream) ReadFrom(h *web.Head, n int, r io.Reader, size int64) (int64, error) {
	if err := st.Flush(h, n, nil, size == 0); err != nil {
		return 0, err
	}
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var sent int64
	var dl time.Time // of the wait for the windows, as in dataLocked
	for sent < size {
		if err := st.sendErr(); err != nil {
			return sent, err
		}
		if len(c.out) >= outCap {
			if err := st.roomLocked(); err != nil {
				return sent, err
			}
			continue
		}
		k := min(size-sent, st.sendWindow, c.sendWindow, int64(c.peerFrame), c.frameRoom())
		if k <= 0 {
			if err := st.windowLocked(&dl); err != nil {
				return sent, err
			}
			continue
		}
		dl = time.Time{}
		c.reserveLocked(frameHeaderLen + int(k))
		off := len(c.out)
		c.out = slices.Grow(c.out, frameHeaderLen+int(k))[:off+frameHeaderLen+int(k)]
		got, err := io.ReadFull(r, c.out[off+frameHeaderLen:])
		flags := uint8(0)
		if err == nil && sent+k == size && !st.hasTrailer() {
			flags = flagEndStream
			st.localDone = true
		}
		if got == 0 {
			c.out = c.out[:off]
		} else {
			c.out = c.out[:off+frameHeaderLen+got]
			putFrameHeader(c.out[off:], got, frameData, flags, st.id)
		}
		st.sendWindow -= int64(got)
		c.sendWindow -= int64(got)
		sent += int64(got)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			// r ended before size, as one part of a multipart body or a
			// file that shrank does: as io.Copy does for HTTP/1.1, that
			// is no error, and the caller sees n short of size.
			break
		}
		if err != nil {
			return sent, err
		}
	}
	c.kick()
	return sent, nil
}

// Interim implements web.Stream: a 1xx HEADERS frame (RFC 9113 §8.1).
func (st *stream) Interim(status int, h *web.Header) error {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	if status == 100 {
		st.expect = false
	}
	return st.interimLocked(status, h)
}

func (st *stream) interimLocked(status int, h *web.Header) error {
	c := st.c
	if err := st.sendErr(); err != nil || st.x.W.Committed() {
		return err
	}
	b := c.enc.AppendStatus(c.hbuf[:0], status)
	if h != nil {
		for i := range h.Len() {
			name, value := h.At(i)
			if !connectionSpecific(name) {
				b = c.enc.AppendField(b, name, web.TrimOWS(value))
			}
		}
	}
	c.hbuf = b
	st.appendHeaders(b, false)
	c.kick()
	return nil
}

// Abort implements web.Stream: the stream is reset.
func (st *stream) Abort() {
	st.c.mu.Lock()
	if !st.localDone {
		st.c.resetLocked(st, ErrCodeInternal)
		st.c.kick()
	}
	st.c.mu.Unlock()
}

// Upgrade implements web.Stream for an extended CONNECT (RFC 8441 §5):
// HTTP/2 has no 101 (RFC 9113 §8.6), so the head goes out as a 200
// HEADERS that leaves the stream open, and the stream's DATA become the
// byte stream, both ways, with no read deadline. Any other request cannot
// upgrade.
func (st *stream) Upgrade(h *web.Head) (io.ReadWriteCloser, error) {
	if st.req.Protocol == nil {
		return nil, web.ErrUpgrade
	}
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	head := *h
	head.Status, head.Length, head.Bodiless, head.Trailer = 200, -1, false, nil
	if err := st.headLocked(&head, false); err != nil {
		return nil, err
	}
	st.tunnel = true
	c.kick()
	return tunnel{st}, nil
}

// tunnel is an upgraded stream as a byte stream: Read takes the client's
// DATA, Write sends DATA, Close ends nave's side (END_STREAM).
type tunnel struct{ st *stream }

func (t tunnel) Read(p []byte) (int, error) { return t.st.Read(p) }

func (t tunnel) Write(p []byte) (int, error) {
	c := t.st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := t.st.dataLocked(p, false); err != nil {
		return 0, err
	}
	c.kick()
	return len(p), nil
}

// SetReadDeadline bounds Read, as net.Conn's does (the WebSocket layer
// uses it for its ping timeout and closing handshake); zero: none.
func (t tunnel) SetReadDeadline(dl time.Time) error {
	c := t.st.c
	c.mu.Lock()
	t.st.readDl = dl
	t.st.signal() // a Read waiting now recomputes its wait
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline bounds a Write waiting for the client's window or for
// room to send; zero: the connection's write timeout.
func (t tunnel) SetWriteDeadline(dl time.Time) error {
	c := t.st.c
	c.mu.Lock()
	t.st.writeDl = dl
	t.st.signal()
	c.mu.Unlock()
	return nil
}

func (t tunnel) Close() error {
	c := t.st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.st.localDone {
		return nil
	}
	err := t.st.dataLocked(nil, true)
	c.kick()
	return err
}

// Gone implements web.Stream: the channel is closed when the stream is
// reset or closed, or the connection ends.
func (st *stream) Gone() <-chan struct{} {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.gone == nil {
		st.gone = make(chan struct{})
		if st.closed || c.err != nil {
			st.shutGoneLocked()
		}
	}
	return st.gone
}

// shutGoneLocked closes gone, once, if a handler asked for it. mu is held.
func (st *stream) shutGoneLocked() {
	if st.gone != nil && !st.goneShut {
		st.goneShut = true
		close(st.gone)
	}
}

// Draining implements web.Stream: closed when the connection's Shutdown
// begins (the server's graceful stop).
func (st *stream) Draining() <-chan struct{} { return st.c.stopping }

// Detach implements web.Stream: the handler is about to wait on something
// of its own, so the reader role moves to another goroutine first.
func (st *stream) Detach() { st.detach() }

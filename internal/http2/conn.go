package http2

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"nave/internal/web"
)

// Info is what the server knows of a connection before HTTP/2 begins.
type Info struct {
	Remote, Local netip.AddrPort
	TLS           *tls.ConnectionState // nil for h2c
	// Batch, when set, gathers what one write of the connection puts on
	// the socket (TLS records, each written alone by crypto/tls) into one
	// socket write.
	Batch Batcher
}

// Batcher gathers writes beneath the connection: Hold starts gathering,
// Send writes what gathered and stops.
type Batcher interface {
	Hold()
	Send() error
}

// Conn is one server-side HTTP/2 connection.
//
// Its frames are read by whichever goroutine holds the reader role. The
// reader runs each request's handler inline, on its own goroutine, so
// that a batch of requests read together is answered by one write with
// no goroutine switch. A handler about to wait (for body bytes, window,
// room to write, or on something of its own: ResponseWriter.Detach)
// first hands the reader role to a new goroutine, and then waits as a
// goroutine of its own. The reader's state (input buffer, HPACK decoder,
// the header block being read) belongs to the role; everything streams
// share is guarded by mu.
type Conn struct {
	cfg  *Config
	set  settings
	nc   net.Conn
	info Info
	log  *slog.Logger

	// The reader role's state.
	in          []byte // input: frames from in[r:w]; small, or *large
	small       [smallInput]byte
	large       *[]byte
	r, w        int
	dec         Decoder
	block       headerBlock
	sink        requestSink
	lastID      uint32 // the highest stream the client opened
	prefaceDone bool   // the client preface and first SETTINGS were read
	now         time.Time
	recent      [16]uint32 // streams nave reset lately: their late frames are ignored
	recentN     int

	shutdown atomic.Bool // Shutdown was called
	handlers sync.WaitGroup
	done     chan struct{} // closed once the connection is over

	mu sync.Mutex
	// Guarded by mu:
	out, spare []byte // frames to send; spare is the buffer being written
	smallOut   []byte // the connection's own buffer, set aside while a large one is in use
	writing    bool   // a goroutine is writing spare to nc
	batching   bool   // the reader is in a batch and will flush at its end
	enc        Encoder
	hbuf       []byte // scratch for header blocks
	streams    map[uint32]*stream
	running    uint32 // handlers running, reset streams included
	draining   uint32 // streams answered whose request body still comes
	sendWindow int64  // the peer's connection window for nave's DATA
	peerWindow int64  // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	peerFrame  int    // the peer's SETTINGS_MAX_FRAME_SIZE
	recvWindow int64  // bytes the peer may still send on the connection
	recvCredit int64  // bytes consumed and not yet returned by WINDOW_UPDATE
	waiters    []*stream
	err        error // the connection has failed or closed
	goAway     bool  // a GOAWAY went out: no new streams
	goAwayID   uint32
	acked      bool      // the peer acknowledged nave's SETTINGS
	readDl     time.Time // the read deadline last set on nc
	settingsAt time.Time
	writeDl    time.Time
	closing    bool // end is sending the last words: the write deadline stays short
	dateSec    int64
	date       []byte

	// The flood budget, spent by the reader and, through resetLocked, by
	// handlers: guarded by floodMu, a leaf lock taken with mu held or not.
	floodMu  sync.Mutex
	tokens   float64
	tokensAt time.Time
}

// headerBlock is a header block being received, HEADERS then
// CONTINUATION frames (RFC 9113 §6.10).
type headerBlock struct {
	active    bool
	stream    uint32
	endStream bool
	buf       []byte
	frames    int
	started   time.Time
}

// connError ends the connection with GOAWAY (RFC 9113 §5.4.1).
type connError struct {
	code   ErrCode
	reason string
}

func (e *connError) Error() string { return "http2: " + e.code.String() + ": " + e.reason }

func connErr(code ErrCode, reason string) error { return &connError{code, reason} }

// Errors a handler may see.
var (
	// ErrStreamReset: the stream was reset, by the client or by nave,
	// before the response was complete.
	ErrStreamReset = errors.New("http2: stream reset")
	// ErrConnClosed: the connection closed under the stream.
	ErrConnClosed = errors.New("http2: connection closed")

	errHandedOff = errors.New("http2: reader role handed off")
	errDrained   = errors.New("http2: connection drained")
)

var connPool = sync.Pool{New: func() any { return new(Conn) }}

// NewConn prepares an HTTP/2 connection over nc; Serve runs it.
func NewConn(cfg *Config, nc net.Conn, info Info) *Conn {
	c := connPool.Get().(*Conn)
	out, spare, hbuf, block := c.out, c.spare, c.hbuf, c.block.buf
	*c = Conn{cfg: cfg, set: cfg.resolve(), nc: nc, info: info, log: cfg.Logger, done: make(chan struct{})}
	c.block.buf = block[:0]
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.in = c.small[:]
	c.out, c.spare, c.hbuf = out[:0], spare[:0], hbuf[:0]
	c.streams = make(map[uint32]*stream)
	c.dec.Init(DefaultTableSize)
	c.enc.Init()
	c.sendWindow, c.peerWindow, c.peerFrame = defaultWindow, defaultWindow, minMaxFrameSize
	c.recvWindow = int64(c.set.connWindow)
	c.tokens = float64(c.set.floodRate)
	return c
}

// Input buffers. A connection reads into a small buffer of its own; a
// frame that does not fit (DATA of an upload, a large header block) moves
// the input to a large pooled buffer, which goes back to the pool once it
// is drained. An idle connection so holds 4 KiB for input, not the 32 KiB
// a whole frame and more would take.
const smallInput = 4 << 10

var largeInputs sync.Pool // *[]byte

func (c *Conn) growInput() {
	size := int(c.set.maxFrame) + frameHeaderLen + 16<<10
	b, _ := largeInputs.Get().(*[]byte)
	if b == nil || len(*b) < size {
		nb := make([]byte, size)
		b = &nb
	}
	c.w = copy(*b, c.in[c.r:c.w])
	c.r = 0
	c.in, c.large = *b, b
}

// shrinkInput goes back to the small buffer; the input holds nothing
// unread.
func (c *Conn) shrinkInput() {
	if c.large == nil {
		return
	}
	largeInputs.Put(c.large)
	c.large = nil
	c.in, c.r, c.w = c.small[:], 0, 0
}

// Serve runs the connection until it closes. buffered holds bytes already
// read from nc: the client preface, or part of it, and maybe more. It
// returns once every stream's handler has returned.
func (c *Conn) Serve(buffered []byte) {
	if len(buffered) > len(c.in) {
		c.growInput()
	}
	c.w = copy(c.in, buffered)
	c.now = time.Now()
	c.tokensAt = c.now
	c.mu.Lock()
	c.out = appendFrameHeader(c.out, 6*5, frameSettings, 0, 0)
	c.out = appendSetting(c.out, settingMaxConcurrentStreams, c.set.maxStreams)
	c.out = appendSetting(c.out, settingInitialWindowSize, c.set.streamWindow)
	c.out = appendSetting(c.out, settingMaxFrameSize, c.set.maxFrame)
	c.out = appendSetting(c.out, settingMaxHeaderListSize, c.set.maxHeaderList)
	c.out = appendSetting(c.out, settingEnablePush, 0)
	if c.set.connWindow > defaultWindow {
		c.out = appendWindowUpdate(c.out, 0, c.set.connWindow-defaultWindow)
	}
	c.settingsAt = c.now
	c.mu.Unlock()
	c.read()
	<-c.done
}

// Release returns the connection's memory for reuse, once Serve has
// returned and no one will call Shutdown again.
func (c *Conn) Release() {
	c.shrinkInput()
	out, spare := c.out, c.spare
	for _, b := range []*[]byte{&out, &spare} {
		if cap(*b) == largeOutput {
			putLargeOutput(*b)
			*b, c.smallOut = c.smallOut, nil
		}
	}
	hbuf, block := c.hbuf, c.block.buf
	*c = Conn{out: out[:0], spare: spare[:0], hbuf: hbuf[:0]}
	c.block.buf = block[:0]
	connPool.Put(c)
}

// Shutdown ends the connection gracefully: GOAWAY with the last stream
// the client opened, streams in flight finish, then it closes. It may be
// called from any goroutine, more than once.
func (c *Conn) Shutdown() {
	if c.shutdown.Swap(true) {
		return
	}
	c.nc.SetReadDeadline(time.Unix(1, 0)) // wake the reader
}

// read runs the reader role: frames are processed as they arrive, and a
// batch's output is written when no complete frame is left.
func (c *Conn) read() {
	err := c.readFrames()
	if err == errHandedOff {
		return
	}
	c.end(err)
}

func (c *Conn) readFrames() error {
	for {
		if err := c.processBuffered(); err != nil {
			return err
		}
		if c.r == c.w {
			c.shrinkInput()
		}
		c.mu.Lock()
		c.batching = false
		c.flushLocked()
		drained := c.drainedLocked()
		err := c.err
		c.mu.Unlock()
		switch {
		case err != nil:
			return err
		case drained:
			return errDrained
		}
		if err := c.fill(); err != nil {
			return err
		}
		c.mu.Lock()
		c.batching = true
		c.mu.Unlock()
	}
}

// fill reads more input, under the deadline the connection's state calls
// for.
func (c *Conn) fill() error {
	if c.r > 0 {
		c.w = copy(c.in, c.in[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.in) {
		c.growInput() // a frame larger than the small buffer
	}
	for {
		if c.shutdown.Load() {
			c.startGoAway()
			c.mu.Lock()
			drained := c.drainedLocked()
			c.mu.Unlock()
			if drained {
				return errDrained // not at the idle timeout: Shutdown waits for it
			}
		}
		c.setReadDeadline()
		n, err := c.nc.Read(c.in[c.w:])
		c.now = time.Now()
		c.w += n
		if n > 0 {
			return nil
		}
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.mu.Lock()
			woken := c.shutdown.Load() && (c.readDl.IsZero() || c.now.Before(c.readDl))
			if woken {
				// A wake-up (Shutdown, or the last response out), not a
				// deadline: setReadDeadline sets the deadline again.
				c.readDl = time.Unix(1, 0)
			}
			c.mu.Unlock()
			if woken {
				continue
			}
			return c.timedOut()
		}
		return err
	}
}

// setReadDeadline applies the one deadline that matters now: the header
// block's, the SETTINGS acknowledgement's, or the idle timeout; none while
// streams are open (their handlers have timeouts of their own).
//
// It runs under mu, so that finishStream's idle deadline and this one are
// not set out of order.
func (c *Conn) setReadDeadline() {
	var dl time.Time
	c.mu.Lock()
	defer c.mu.Unlock()
	idle := len(c.streams) == 0 && c.running == 0
	if !c.acked {
		dl = c.settingsAt.Add(c.set.settingsAck)
	}
	if c.block.active {
		dl = earliest(dl, c.block.started.Add(c.set.head))
	}
	if idle {
		// The idle deadline moves only when it would shift by more than
		// an eighth: setting one costs a timer update.
		if want := c.now.Add(c.set.idle); c.readDl.IsZero() || want.Sub(c.readDl) > c.set.idle/8 {
			dl = earliest(dl, want)
		} else {
			dl = earliest(dl, c.readDl)
		}
	}
	if !dl.Equal(c.readDl) {
		c.readDl = dl
		c.nc.SetReadDeadline(dl)
	}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// timedOut says which deadline passed.
func (c *Conn) timedOut() error {
	c.mu.Lock()
	acked := c.acked
	c.mu.Unlock()
	switch {
	case !acked && !c.now.Before(c.settingsAt.Add(c.set.settingsAck)):
		return connErr(ErrCodeSettingsTimeout, "SETTINGS not acknowledged")
	case c.block.active:
		return connErr(ErrCodeProtocol, "header block not finished in time")
	}
	return connErr(ErrCodeNo, "idle")
}

// startGoAway sends the graceful GOAWAY once; it reports whether it did.
func (c *Conn) startGoAway() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goAway {
		return false
	}
	c.goAway, c.goAwayID = true, c.lastID
	c.out = appendGoAway(c.out, c.lastID, ErrCodeNo)
	for _, st := range c.streams {
		if st.draining {
			c.out = appendRSTStream(c.out, st.id, ErrCodeNo)
			st.closeLocked(nil)
		}
	}
	c.flushLocked()
	c.readDl = time.Time{}
	c.nc.SetReadDeadline(time.Time{})
	if c.running == 0 && len(c.streams) == 0 {
		c.nc.SetReadDeadline(time.Unix(1, 0))
	}
	return true
}

// end closes the connection after the reader stopped: a GOAWAY saying
// why (for a connection error), the last output, then the socket; it
// waits for the handlers still running.
func (c *Conn) end(err error) {
	var ce *connError
	c.mu.Lock()
	switch {
	case errors.As(err, &ce):
		if ce.code != ErrCodeNo || !c.goAway {
			c.out = appendGoAway(c.out, c.lastID, ce.code)
		}
		if ce.code != ErrCodeNo {
			c.log.Debug("HTTP/2 connection error", "remote", c.info.Remote.String(), "err", err)
		}
	case err == errDrained:
	default:
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			c.log.Debug("HTTP/2 connection ended", "remote", c.info.Remote.String(), "err", err)
		}
	}
	c.batching = false
	if c.err == nil && ce != nil {
		// The last words go out under a short deadline of their own, which
		// also cuts short a write under way; its writer is waited for, so
		// that the GOAWAY follows its frames.
		c.closing = true
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		for i := 0; c.writing && i < 250; i++ {
			c.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			c.mu.Lock()
		}
		c.flushLocked()
	}
	c.fail(ErrConnClosed)
	c.mu.Unlock()
	c.handlers.Wait()
	c.mu.Lock()
	for _, st := range c.streams {
		if st.draining {
			st.closeLocked(ErrConnClosed)
		}
	}
	c.mu.Unlock()
	close(c.done)
}

// fail marks the connection failed and closes the socket, which ends
// the reader and every write; waiters are woken to see it. mu is held.
func (c *Conn) fail(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	c.nc.Close()
	c.wakeAll()
	for _, st := range c.streams {
		st.signal()
	}
}

// processBuffered handles every complete frame in the input.
func (c *Conn) processBuffered() error {
	if !c.prefaceDone {
		if err := c.readPreface(); err != nil || !c.prefaceDone {
			return err
		}
	}
	for c.w-c.r >= frameHeaderLen {
		h := parseFrameHeader(c.in[c.r:])
		if h.length > c.set.maxFrame {
			return connErr(ErrCodeFrameSize, "frame larger than SETTINGS_MAX_FRAME_SIZE")
		}
		end := c.r + frameHeaderLen + int(h.length)
		if end > c.w {
			return nil
		}
		p := c.in[c.r+frameHeaderLen : end]
		c.r = end
		if err := c.processFrame(h, p); err != nil {
			return err
		}
	}
	return nil
}

// readPreface checks the client preface (RFC 9113 §3.4) and that the
// first frame is SETTINGS.
func (c *Conn) readPreface() error {
	n := min(c.w-c.r, len(clientPrefaceText))
	if string(c.in[c.r:c.r+n]) != clientPrefaceText[:n] {
		return connErr(ErrCodeProtocol, "bad client preface")
	}
	if n < len(clientPrefaceText) || c.w-c.r < len(clientPrefaceText)+frameHeaderLen {
		return nil
	}
	h := parseFrameHeader(c.in[c.r+len(clientPrefaceText):])
	if h.typ != frameSettings || h.has(flagAck) {
		return connErr(ErrCodeProtocol, "first frame is not SETTINGS")
	}
	c.r += len(clientPrefaceText)
	c.prefaceDone = true
	return nil
}

func (c *Conn) processFrame(h frameHeader, p []byte) error {
	if c.block.active && h.typ != frameContinuation {
		return connErr(ErrCodeProtocol, "header block interrupted")
	}
	switch h.typ {
	case frameData:
		return c.onData(h, p)
	case frameHeaders:
		return c.onHeaders(h, p)
	case frameContinuation:
		return c.onContinuation(h, p)
	case framePriority:
		return c.onPriority(h, p)
	case frameRSTStream:
		return c.onRSTStream(h, p)
	case frameSettings:
		return c.onSettings(h, p)
	case framePing:
		return c.onPing(h, p)
	case frameGoAway:
		if h.stream != 0 {
			return connErr(ErrCodeProtocol, "GOAWAY on a stream")
		}
		return c.spend(1)
	case frameWindowUpdate:
		return c.onWindowUpdate(h, p)
	case framePushPromise:
		return connErr(ErrCodeProtocol, "PUSH_PROMISE from a client")
	}
	// §5.5: unknown frame types are ignored, but they cost as a flood.
	return c.spend(1)
}

// spend takes n from the connection's flood budget (RFC 9113 §10.5: a
// peer's frames that cost work and do nothing useful, and streams reset
// by either side). An empty budget ends the connection with
// ENHANCE_YOUR_CALM.
//
// Any goroutine may call it: a handler's stream that nave resets (its
// window never opened) spends too. So it reads the clock itself, c.now
// being the reader's.
func (c *Conn) spend(n float64) error {
	now := time.Now()
	rate := float64(c.set.floodRate)
	c.floodMu.Lock()
	defer c.floodMu.Unlock()
	if dt := now.Sub(c.tokensAt); dt > 0 {
		c.tokens = min(rate, c.tokens+dt.Seconds()*rate)
		c.tokensAt = now
	}
	c.tokens -= n
	if c.tokens < 0 {
		return connErr(ErrCodeEnhanceYourCalm, "flood of control frames or resets")
	}
	return nil
}

// stripPadding removes a padded frame's pad length and padding (§6.1).
func stripPadding(h frameHeader, p []byte) ([]byte, error) {
	if !h.has(flagPadded) {
		return p, nil
	}
	if len(p) == 0 {
		return nil, connErr(ErrCodeFrameSize, "padded frame without a pad length")
	}
	pad := int(p[0])
	if pad >= len(p) {
		return nil, connErr(ErrCodeProtocol, "padding longer than the frame")
	}
	return p[1 : len(p)-pad], nil
}

func (c *Conn) onHeaders(h frameHeader, p []byte) error {
	if h.stream == 0 {
		return connErr(ErrCodeProtocol, "HEADERS on stream 0")
	}
	p, err := stripPadding(h, p)
	if err != nil {
		return err
	}
	selfDep := false
	if h.has(flagPriority) {
		if len(p) < 5 {
			return connErr(ErrCodeFrameSize, "HEADERS too short for its priority")
		}
		selfDep = uint32(p[0]&0x7f)<<24|uint32(p[1])<<16|uint32(p[2])<<8|uint32(p[3]) == h.stream
		p = p[5:]
	}
	c.block = headerBlock{stream: h.stream, endStream: h.has(flagEndStream), buf: c.block.buf[:0], started: c.now}
	if selfDep {
		// §5.3.1: a stream depending on itself is a stream error; the
		// block is still decoded below, for HPACK's sake.
		c.block.stream |= 1 << 31
	}
	if h.has(flagEndHeaders) {
		return c.onBlock(p)
	}
	c.block.active = true
	c.block.buf = append(c.block.buf, p...)
	return nil
}

func (c *Conn) onContinuation(h frameHeader, p []byte) error {
	if !c.block.active || h.stream != c.block.stream&(1<<31-1) {
		return connErr(ErrCodeProtocol, "CONTINUATION without its HEADERS")
	}
	c.block.frames++
	// CONTINUATION floods (CVE-2024-27316 and its family): a block may
	// not grow past what its decoded size could be, and a frame adding
	// little costs from the flood budget.
	if len(c.block.buf)+len(p) > int(c.set.maxHeaderList)+1024 {
		return connErr(ErrCodeEnhanceYourCalm, "header block too large")
	}
	if len(p) < 256 {
		if err := c.spend(1); err != nil {
			return err
		}
	}
	c.block.buf = append(c.block.buf, p...)
	if !h.has(flagEndHeaders) {
		return nil
	}
	c.block.active = false
	return c.onBlock(c.block.buf)
}

// onBlock handles a complete header block: a new request, or trailers.
func (c *Conn) onBlock(block []byte) error {
	id := c.block.stream & (1<<31 - 1)
	selfDep := c.block.stream&(1<<31) != 0
	c.block.active = false
	c.mu.Lock()
	st := c.streams[id]
	c.mu.Unlock()
	switch {
	case st != nil:
		return c.onTrailers(st, block)
	case id <= c.lastID:
		if err := c.dec.Decode(block, discard{}); err != nil {
			return connErr(ErrCodeCompression, err.Error())
		}
		if c.resetLately(id) {
			return c.spend(1) // ignored, but not for free: a flood's mark
		}
		return connErr(ErrCodeStreamClosed, "HEADERS on a closed stream")
	case id%2 == 0:
		return connErr(ErrCodeProtocol, "client opened an even stream")
	}
	c.lastID = id
	st = newStream(c, id)
	req := &st.req
	c.sink.reset(req, &st.pseudo, false, c.set.maxHeaderList)
	err := c.dec.Decode(block, &c.sink)
	if errors.Is(err, ErrCompression) {
		st.free()
		return connErr(ErrCodeCompression, err.Error())
	}
	if err == nil {
		err = c.sink.finish()
	}
	if err == nil && selfDep {
		err = errMalformed
	}
	if err == nil && c.block.endStream && req.ContentLength > 0 {
		err = errMalformed // §8.1.1: content-length and the DATA disagree
	}
	c.mu.Lock()
	if c.goAway {
		// §6.8: streams above the GOAWAY's last id are ignored.
		c.mu.Unlock()
		st.free()
		return nil
	}
	if err == errMalformed || c.running+c.draining >= c.set.maxStreams {
		code := ErrCodeProtocol
		if err != errMalformed {
			code = ErrCodeRefusedStream // §5.1.2; the client may retry it
		}
		c.out = appendRSTStream(c.out, id, code)
		c.mu.Unlock()
		c.noteReset(id)
		st.free()
		return c.spend(1)
	}
	c.streams[id] = st
	c.running++
	st.sendWindow = c.peerWindow
	c.mu.Unlock()
	st.begin(c.block.endStream)
	c.handlers.Add(1)
	if err == errHeaderLarge {
		return c.run(st, headerTooLarge)
	}
	return c.run(st, c.cfg.Handler)
}

var headerTooLarge = web.HandlerFunc(func(w *web.ResponseWriter, _ *web.Request) {
	web.Error(w, 431, "request header fields too large")
})

// onTrailers handles a header block on a stream already open: its
// trailers, which must end it (§8.1). mu is held throughout: the stream's
// handler may finish, and the stream go, meanwhile.
func (c *Conn) onTrailers(st *stream, block []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.closed || st.remoteDone {
		// §5.1: half-closed (remote) takes no HEADERS.
		if err := c.dec.Decode(block, discard{}); err != nil {
			return connErr(ErrCodeCompression, err.Error())
		}
		if st.closed {
			return connErr(ErrCodeStreamClosed, "HEADERS on a closed stream")
		}
		return c.resetLocked(st, ErrCodeStreamClosed)
	}
	// The handler reads Trailer only after the body's end, which comes
	// after this under mu.
	c.sink.reset(&st.req, &st.pseudo, true, c.set.maxHeaderList)
	err := c.dec.Decode(block, &c.sink)
	if errors.Is(err, ErrCompression) {
		return connErr(ErrCodeCompression, err.Error())
	}
	if err == nil {
		err = c.sink.finish()
	}
	if err != nil || !c.block.endStream {
		return c.resetLocked(st, ErrCodeProtocol)
	}
	return st.endBodyLocked()
}

// discard is the sink for header blocks that are decoded only to keep
// HPACK's table in step.
type discard struct{}

func (discard) Field(_, _ []byte, _ bool) error { return nil }

func (c *Conn) onData(h frameHeader, p []byte) error {
	if h.stream == 0 {
		return connErr(ErrCodeProtocol, "DATA on stream 0")
	}
	size := int64(len(p))
	c.mu.Lock()
	if size > c.recvWindow {
		c.mu.Unlock()
		return connErr(ErrCodeFlowControl, "DATA beyond the connection window")
	}
	c.recvWindow -= size
	st := c.streams[h.stream]
	c.mu.Unlock()
	data, err := stripPadding(h, p)
	if err != nil {
		return err
	}
	// Empty DATA without END_STREAM carries nothing (CVE-2019-9518): it
	// costs, on a stream nave reset lately as well, whose late frames are
	// otherwise ignored for free.
	if len(data) == 0 && !h.has(flagEndStream) {
		if err := c.spend(1); err != nil {
			return err
		}
	}
	if st == nil {
		c.credit(nil, size)
		if h.stream > c.lastID {
			return connErr(ErrCodeProtocol, "DATA on an idle stream")
		}
		if c.resetLately(h.stream) {
			return nil
		}
		c.mu.Lock()
		c.out = appendRSTStream(c.out, h.stream, ErrCodeStreamClosed)
		c.mu.Unlock()
		c.noteReset(h.stream)
		return c.spend(1)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case st.remoteDone:
		c.creditLocked(nil, size)
		return c.resetLocked(st, ErrCodeStreamClosed)
	case size > st.recvWindow:
		c.creditLocked(nil, size)
		return c.resetLocked(st, ErrCodeFlowControl)
	}
	st.recvWindow -= size
	st.received += int64(len(data))
	if cl := st.req.ContentLength; cl >= 0 && st.received > cl {
		c.creditLocked(nil, size)
		return c.resetLocked(st, ErrCodeProtocol)
	}
	if st.handlerDone {
		c.creditLocked(st, size) // no one reads it any more
	} else {
		st.body = append(st.body, data...)
		if pad := size - int64(len(data)); pad > 0 {
			c.creditLocked(st, pad) // padding is never read: return it at once
		}
	}
	st.signal()
	if h.has(flagEndStream) {
		return st.endBodyLocked()
	}
	return nil
}

func (c *Conn) onPriority(h frameHeader, p []byte) error {
	if h.stream == 0 {
		return connErr(ErrCodeProtocol, "PRIORITY on stream 0")
	}
	if err := c.spend(0.1); err != nil {
		return err
	}
	if len(p) != 5 {
		return c.streamError(h.stream, ErrCodeFrameSize)
	}
	// §5.3.2: priority signals are accepted and ignored, save one that
	// makes a stream depend on itself (§5.3.1).
	if uint32(p[0]&0x7f)<<24|uint32(p[1])<<16|uint32(p[2])<<8|uint32(p[3]) == h.stream {
		return c.streamError(h.stream, ErrCodeProtocol)
	}
	return nil
}

// streamError resets stream id, open or not.
func (c *Conn) streamError(id uint32, code ErrCode) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.streams[id]; st != nil {
		return c.resetLocked(st, code)
	}
	c.out = appendRSTStream(c.out, id, code)
	c.noteReset(id)
	return c.spend(1)
}

func (c *Conn) onRSTStream(h frameHeader, p []byte) error {
	if len(p) != 4 {
		return connErr(ErrCodeFrameSize, "RST_STREAM of the wrong size")
	}
	if h.stream == 0 || h.stream > c.lastID {
		return connErr(ErrCodeProtocol, "RST_STREAM on an idle stream")
	}
	// Rapid Reset (CVE-2023-44487): a reset stream whose handler still
	// runs keeps counting against the concurrent streams, and every reset
	// costs from the flood budget.
	if err := c.spend(1); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.streams[h.stream]; st != nil {
		st.closeLocked(ErrStreamReset)
	}
	return nil
}

func (c *Conn) onSettings(h frameHeader, p []byte) error {
	if h.stream != 0 {
		return connErr(ErrCodeProtocol, "SETTINGS on a stream")
	}
	// A frame with many entries costs in proportion: each is work.
	if err := c.spend(1 + float64(len(p)/6)/10); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h.has(flagAck) {
		if len(p) != 0 {
			return connErr(ErrCodeFrameSize, "SETTINGS ACK with a payload")
		}
		c.acked = true
		return nil
	}
	if len(p)%6 != 0 {
		return connErr(ErrCodeFrameSize, "SETTINGS of a wrong size")
	}
	window := c.peerWindow
	for ; len(p) > 0; p = p[6:] {
		id, v := uint16(p[0])<<8|uint16(p[1]), uint32(p[2])<<24|uint32(p[3])<<16|uint32(p[4])<<8|uint32(p[5])
		switch id {
		case settingHeaderTableSize:
			c.enc.SetMaxTableSize(v)
		case settingEnablePush:
			if v > 1 {
				return connErr(ErrCodeProtocol, "SETTINGS_ENABLE_PUSH not 0 or 1")
			}
		case settingInitialWindowSize:
			if v > maxWindow {
				return connErr(ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE too large")
			}
			window = int64(v) // applied once the frame is read, below
		case settingMaxFrameSize:
			if v < minMaxFrameSize || v > maxMaxFrameSize {
				return connErr(ErrCodeProtocol, "SETTINGS_MAX_FRAME_SIZE out of range")
			}
			c.peerFrame = int(v)
		}
	}
	if delta := window - c.peerWindow; delta != 0 {
		// §6.9.2: the change applies to every open stream's window. The
		// frame's last value is the one that counts, so streams are
		// visited once per frame, not once per entry.
		c.peerWindow = window
		for _, st := range c.streams {
			st.sendWindow += delta
			if st.sendWindow > maxWindow {
				return connErr(ErrCodeFlowControl, "a stream window overflowed")
			}
			st.signal()
		}
	}
	c.out = appendFrameHeader(c.out, 0, frameSettings, flagAck, 0)
	return nil
}

func (c *Conn) onPing(h frameHeader, p []byte) error {
	if len(p) != 8 {
		return connErr(ErrCodeFrameSize, "PING of the wrong size")
	}
	if h.stream != 0 {
		return connErr(ErrCodeProtocol, "PING on a stream")
	}
	if h.has(flagAck) {
		return nil
	}
	if err := c.spend(1); err != nil {
		return err
	}
	c.mu.Lock()
	c.out = appendFrameHeader(c.out, 8, framePing, flagAck, 0)
	c.out = append(c.out, p...)
	c.mu.Unlock()
	return nil
}

func (c *Conn) onWindowUpdate(h frameHeader, p []byte) error {
	if len(p) != 4 {
		return connErr(ErrCodeFrameSize, "WINDOW_UPDATE of the wrong size")
	}
	incr := int64(uint32(p[0]&0x7f)<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3]))
	if incr < 1024 {
		// Tiny increments cost work and carry little: a flood's mark.
		if err := c.spend(1); err != nil {
			return err
		}
	}
	if h.stream == 0 {
		if incr == 0 {
			return connErr(ErrCodeProtocol, "WINDOW_UPDATE of 0")
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.sendWindow += incr
		if c.sendWindow > maxWindow {
			return connErr(ErrCodeFlowControl, "connection window overflowed")
		}
		c.wakeAll()
		return nil
	}
	if h.stream > c.lastID {
		return connErr(ErrCodeProtocol, "WINDOW_UPDATE on an idle stream")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.streams[h.stream]
	if st == nil {
		// A stream just ended may still get one; a stream of them is a
		// flood like any other.
		return c.spend(0.1)
	}
	if incr == 0 {
		return c.resetLocked(st, ErrCodeProtocol)
	}
	st.sendWindow += incr
	if st.sendWindow > maxWindow {
		return c.resetLocked(st, ErrCodeFlowControl)
	}
	st.signal()
	return nil
}

// resetStream resets st with code.
func (c *Conn) resetStream(st *stream, code ErrCode) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resetLocked(st, code)
}

// resetLocked sends RST_STREAM for st and closes it; its handler sees
// ErrStreamReset. Resets nave is made to send cost the flood budget
// (MadeYouReset, CVE-2025-8671). mu is held.
func (c *Conn) resetLocked(st *stream, code ErrCode) error {
	if !st.closed {
		c.out = appendRSTStream(c.out, st.id, code)
		c.noteReset(st.id)
		st.closeLocked(ErrStreamReset)
	}
	return c.spend(1)
}

// noteReset remembers that nave reset stream id, so that frames the
// client sent before it learnt of the reset are ignored (§5.1).
func (c *Conn) noteReset(id uint32) {
	c.recent[c.recentN%len(c.recent)] = id
	c.recentN++
}

func (c *Conn) resetLately(id uint32) bool {
	for _, r := range c.recent {
		if r == id {
			return true
		}
	}
	return false
}

// credit returns n bytes of receive window: to the connection, and to st
// unless it is nil. A WINDOW_UPDATE goes out once half a window is owed,
// so that the peer sends on while the handler reads.
func (c *Conn) credit(st *stream, n int64) {
	c.mu.Lock()
	c.creditLocked(st, n)
	c.mu.Unlock()
}

func (c *Conn) creditLocked(st *stream, n int64) {
	if c.err != nil || n == 0 {
		return
	}
	c.recvCredit += n
	if c.recvCredit >= int64(c.set.connWindow)/2 {
		c.out = appendWindowUpdate(c.out, 0, uint32(c.recvCredit))
		c.recvWindow += c.recvCredit
		c.recvCredit = 0
	}
	if st != nil && !st.remoteDone && !st.closed {
		st.recvCredit += n
		if st.recvCredit >= int64(c.set.streamWindow)/2 {
			c.out = appendWindowUpdate(c.out, st.id, uint32(st.recvCredit))
			st.recvWindow += st.recvCredit
			st.recvCredit = 0
		}
	}
}

// Output.

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

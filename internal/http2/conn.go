package http2

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"nave/internal/servermetrics"
)

// Info is what the server knows of a connection before HTTP/2 begins.
type Info struct {
	Remote, Local netip.AddrPort
	TLS           *tls.ConnectionState // nil for h2c
	// TrustedPeer: the peer is one of the listener's trusted proxies, so
	// the metrics believe a request's X-Request-Start.
	TrustedPeer bool
	// Batch, when set, gathers what one write of the connection puts on
	// the socket (TLS records, each written alone by crypto/tls) into one
	// socket write.
	Batch Batcher
	// Ended, when set, is called once the connection is over: the socket
	// closed and every handler returned. It runs on whichever goroutine
	// ended the connection, which may not be the one that called Serve.
	Ended func()
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
	tr   *connTrace // --trace; nil when off

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
	m           *servermetrics.Set // cfg.Metrics; nil is off

	shutdown atomic.Bool   // Shutdown was called
	stopping chan struct{} // closed by Shutdown: streams' Draining
	role     atomic.Uint64 // the reader role's generation: one more at each hand-off
	handlers sync.WaitGroup
	done     chan struct{} // closed once the connection is over

	mu sync.Mutex
	// Guarded by mu:
	out, spare []byte // frames to send; spare is the buffer being written
	smallOut   []byte // the connection's own buffer, set aside while a large one is in use
	writing    bool   // a goroutine is writing spare to nc
	batching   bool   // the reader is in a batch and will flush at its end
	enc        Encoder
	memo       headMemo // the last response block worth remembering
	hbuf       []byte   // scratch for header blocks
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
	goAway     bool  // the final GOAWAY went out: no new streams
	goAwayID   uint32
	// A graceful shutdown's first GOAWAY (the largest stream id) and its
	// PING went out at warnedAt; pingBack: the PING's ACK came back.
	warned     bool
	warnedAt   time.Time
	pingBack   bool
	acked      bool      // the peer acknowledged nave's SETTINGS
	readDl     time.Time // the read deadline last set on nc
	settingsAt time.Time
	writeDl    time.Time
	closing    bool // end is sending the last words: the write deadline stays short
	dateSec    int64
	date       []byte
	recent     [16]uint32              // streams nave reset lately: their late frames are ignored
	mstate     servermetrics.ConnState // the state the metrics count the connection in
	recentN    int

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
	errPanicked  = errors.New("http2: panic")
)

var connPool = sync.Pool{New: func() any { return new(Conn) }}

// NewConn prepares an HTTP/2 connection over nc; Serve runs it.
func NewConn(cfg *Config, nc net.Conn, info Info) *Conn {
	c := connPool.Get().(*Conn)
	out, spare, hbuf, block := c.out, c.spare, c.hbuf, c.block.buf
	*c = Conn{cfg: cfg, set: cfg.resolve(), nc: nc, info: info, log: cfg.Logger, done: make(chan struct{}),
		stopping: make(chan struct{}),
		m:        cfg.Metrics, mstate: servermetrics.ConnNone}
	c.block.buf = block[:0]
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.in = c.small[:]
	c.out, c.spare, c.hbuf = out[:0], spare[:0], hbuf[:0]
	c.streams = make(map[uint32]*stream)
	if cfg.Trace != nil {
		c.tr = newConnTrace(cfg.Trace, info.Remote)
	}
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

// Serve runs the connection. buffered holds bytes already read from nc:
// the client preface, or part of it, and maybe more. It returns when the
// connection is over, or earlier, when a handler running on this goroutine
// handed the reading to another one: Info.Ended says when it is over.
func (c *Conn) Serve(buffered []byte) {
	if len(buffered) > len(c.in) {
		c.growInput()
	}
	c.w = copy(c.in, buffered)
	c.now = time.Now()
	c.tokensAt = c.now
	c.mu.Lock()
	c.out = appendFrameHeader(c.out, 6*6, frameSettings, 0, 0)
	c.out = appendSetting(c.out, settingEnableConnect, 1) // RFC 8441: WebSockets over HTTP/2
	c.out = appendSetting(c.out, settingMaxConcurrentStreams, c.set.maxStreams)
	c.out = appendSetting(c.out, settingInitialWindowSize, c.set.streamWindow)
	c.out = appendSetting(c.out, settingMaxFrameSize, c.set.maxFrame)
	c.out = appendSetting(c.out, settingMaxHeaderListSize, c.set.maxHeaderList)
	c.out = appendSetting(c.out, settingEnablePush, 0)
	if c.set.connWindow > defaultWindow {
		c.out = appendWindowUpdate(c.out, 0, c.set.connWindow-defaultWindow)
	}
	c.settingsAt = c.now
	c.moveLocked(servermetrics.ConnIdle)
	c.mu.Unlock()
	c.read()
}

// moveLocked moves the connection to state st in the metrics: idle with
// no handler running, handling with one or more. mu is held.
func (c *Conn) moveLocked(st servermetrics.ConnState) {
	if c.m != nil {
		c.m.Move(c.mstate, st)
		c.mstate = st
	}
}

// sendRSTLocked queues RST_STREAM for stream id. mu is held.
func (c *Conn) sendRSTLocked(id uint32, code ErrCode) {
	c.out = appendRSTStream(c.out, id, code)
	c.m.H2Reset(uint32(code))
}

// sendGoAwayLocked queues GOAWAY with the last stream opened. mu is held.
func (c *Conn) sendGoAwayLocked(code ErrCode) {
	c.out = appendGoAway(c.out, c.lastID, code)
	c.m.H2GoAway(uint32(code))
}

// Release returns the connection's memory for reuse, once it is over
// (Info.Ended) and no one will call Shutdown again.
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
	close(c.stopping)
	c.nc.SetReadDeadline(time.Unix(1, 0)) // wake the reader
}

// read runs the reader role: frames are processed as they arrive, and a
// batch's output is written when no complete frame is left.
func (c *Conn) read() {
	defer c.recoverRead()
	err := c.readFrames()
	if err == errHandedOff {
		return
	}
	c.end(err)
}

// recoverRead is the last line of defence of the goroutine holding the
// reader role, which may not be the server's connection goroutine and has
// no other: a panic in the reading (a bug of nave's own) closes this
// connection, is logged, and the server goes on. (A panic on a stream's
// goroutine is run's to recover.) The connection ends on a goroutine of its
// own, since mu may be held by the frame that panicked.
func (c *Conn) recoverRead() {
	v := recover()
	if v == nil {
		return
	}
	c.log.Error("HTTP/2 connection panic", "remote", c.info.Remote.String(), "panic", v, "stack", string(debug.Stack()))
	c.nc.Close()
	go c.end(errPanicked)
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
			// The wait for the shutdown PING's ACK ending is a wake-up
			// too: the final GOAWAY is due.
			waited := c.warned && !c.goAway && !c.now.Before(c.warnedAt.Add(goAwayWait))
			woken := c.shutdown.Load() && (c.readDl.IsZero() || c.now.Before(c.readDl) || waited)
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
	idle := len(c.streams) == int(c.draining) && c.running == 0
	if !c.acked {
		dl = c.settingsAt.Add(c.set.settingsAck)
	}
	if c.block.active {
		dl = earliest(dl, c.block.started.Add(c.set.head))
	}
	if c.warned && !c.goAway {
		dl = earliest(dl, c.warnedAt.Add(goAwayWait)) // startGoAway's final step
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
		c.wakeForShutdown()
	}
}

// wakeForShutdown sets Shutdown's wake-up again after a read deadline was
// set, until the first GOAWAY is out: Shutdown may have set its own between the
// reader's check for it and this deadline, which replaced it. mu is held.
func (c *Conn) wakeForShutdown() {
	if c.shutdown.Load() && !c.warned {
		c.nc.SetReadDeadline(time.Unix(1, 0))
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

// goAwayWait bounds the wait for the ACK of a graceful shutdown's PING,
// before the final GOAWAY goes out without it.
const goAwayWait = time.Second

// shutdownPing is the payload of a graceful shutdown's PING.
const shutdownPing = "nave-bye"

// startGoAway runs a graceful shutdown (RFC 9113 §6.8) in two steps,
// called from the reader until the second is done. First a GOAWAY with
// the largest stream id and NO_ERROR, and a PING: the client learns it
// must open no more streams, while the ones it has sent meanwhile are
// still taken. Then, once the PING's ACK is back (a round trip: every
// stream opened before the client read the GOAWAY has arrived) or
// goAwayWait has passed, the final GOAWAY with the last stream taken:
// later streams are ignored, and the client may retry them elsewhere. It
// reports whether the final GOAWAY went out now.
func (c *Conn) startGoAway() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goAway {
		return false
	}
	if !c.warned {
		c.warned, c.warnedAt = true, time.Now()
		c.out = appendGoAway(c.out, 1<<31-1, ErrCodeNo)
		c.out = appendFrameHeader(c.out, len(shutdownPing), framePing, 0, 0)
		c.out = append(c.out, shutdownPing...)
		c.flushLocked()
		return false
	}
	if !c.pingBack && time.Since(c.warnedAt) < goAwayWait {
		return false
	}
	c.goAway, c.goAwayID = true, c.lastID
	c.sendGoAwayLocked(ErrCodeNo)
	for _, st := range c.streams {
		if st.draining {
			c.sendRSTLocked(st.id, ErrCodeNo)
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
			c.sendGoAwayLocked(ce.code)
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
		if c.err == nil {
			c.mu.Unlock()
			c.linger()
			c.mu.Lock()
		}
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
	c.moveLocked(servermetrics.ConnNone)
	c.mu.Unlock()
	close(c.done)
	if c.info.Ended != nil {
		c.info.Ended()
	}
}

// Lingering close, after a GOAWAY that ends the connection: a client
// still sending when the socket closes gets a reset, which can destroy the
// GOAWAY before the client reads it (as RFC 9112 §9.6 says of HTTP/1.1).
// So nave stops writing and reads and drops what still comes, for a while.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 1 << 20
)

func (c *Conn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite() // FIN in the clear, close_notify over TLS
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	for n := 0; n < lingerBytes; {
		k, err := c.nc.Read(c.small[:])
		n += k
		if err != nil {
			return
		}
	}
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
		st.shutGoneLocked()
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
		if c.tr != nil {
			c.tr.inbound(h, p)
		}
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

package http2

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"nave/internal/web"
)

// Defaults for ClientConfig.
const (
	DefaultClientStreamWindow = 256 << 10 // response bytes a stream takes ahead of its reader
	DefaultClientConnWindow   = 1 << 20   // the same, for all streams together
)

// ClientConfig configures a ClientConn. Zero values mean the defaults.
type ClientConfig struct {
	// StreamWindow bounds what one response may send ahead of its reader;
	// ConnWindow, what all of them may together: the memory a slow reader
	// can make the connection hold.
	StreamWindow uint32
	ConnWindow   uint32
	// MaxHeaderList bounds a response head (RFC 9113 §6.5.2's size).
	MaxHeaderList uint32
	// WriteTimeout bounds each write to the socket.
	WriteTimeout time.Duration
}

// Errors of a ClientConn's streams.
var (
	// ErrRefused is a request the server did not process: refused
	// (REFUSED_STREAM) or above a GOAWAY's last stream (RFC 9113 §8.7).
	// It can be sent again, on another connection.
	ErrRefused = errors.New("http2: request refused by the server, not processed")
	// ErrNoStream is RoundTrip on a connection without a reserved slot.
	ErrNoStream = errors.New("http2: no stream slot reserved")
)

// ClientConn is one client-side HTTP/2 connection spoken with prior
// knowledge (h2c, RFC 9113 §3.3), on which requests are multiplexed: the
// reverse proxy's connection to an upstream that speaks HTTP/2.
//
// One goroutine reads its frames for as long as it lives. Writes (frames
// of any stream, and the HPACK encoder's state) are serialized by wmu;
// everything the streams share by mu. wmu may be taken while holding
// nothing or before mu, never while holding mu.
type ClientConn struct {
	nc  net.Conn
	cfg ClientConfig

	wmu  sync.Mutex // guards enc, wbuf, hbuf and writing to nc
	enc  Encoder
	wbuf []byte
	hbuf []byte // a request's header block, reused

	mu         sync.Mutex
	cond       sync.Cond // broadcast on any change to what mu guards
	streams    map[uint32]*ClientStream
	nextID     uint32
	reserved   uint32 // slots taken by Reserve, streams open or about to be
	maxStreams uint32 // the server's SETTINGS_MAX_CONCURRENT_STREAMS
	sendWindow int64  // the connection's send window
	initWindow int64  // the server's initial stream window
	maxFrame   int    // the server's SETTINGS_MAX_FRAME_SIZE
	unacked    int64  // response bytes read but not yet given back to the connection window
	goingAway  bool
	lastID     uint32 // with goingAway: the last stream the server processes
	err        error  // the connection is over
	idleSince  time.Time
	// spare are closed streams' field buffers, emptied, for the read
	// loop to decode the next blocks into (handOver).
	spare []web.Header
	// wakeWaiters is broadcast as a func value, made once.
	wakeWaiters func()

	// The reader goroutine's own.
	br          *bufio.Reader
	dec         Decoder
	inBlock     bool        // a header block is being gathered
	blockHeader frameHeader // its HEADERS frame's header
	block       []byte      // its fragments so far
	sink        fieldList   // the block's fields, decoded
}

// ClientStream is one request on a ClientConn and its response.
type ClientStream struct {
	cc *ClientConn
	id uint32

	// Guarded by cc.mu.
	sendWindow int64
	status     int
	header     web.Header
	trailer    web.Header
	data       []byte // response body bytes not yet read
	unacked    int64
	headDone   bool
	ended      bool // END_STREAM received
	sentEnd    bool // END_STREAM sent
	err        error
	closed     bool
}

// NewClientConn starts HTTP/2 on nc: the preface, SETTINGS and a window
// for the connection (RFC 9113 §3.4), then reads frames until the
// connection ends.
func NewClientConn(nc net.Conn, cfg ClientConfig) (*ClientConn, error) {
	if cfg.StreamWindow == 0 {
		cfg.StreamWindow = DefaultClientStreamWindow
	}
	if cfg.ConnWindow == 0 {
		cfg.ConnWindow = DefaultClientConnWindow
	}
	if cfg.MaxHeaderList == 0 {
		cfg.MaxHeaderList = DefaultMaxHeaderListSize
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	cc := &ClientConn{nc: nc, cfg: cfg, streams: map[uint32]*ClientStream{}, nextID: 1,
		maxStreams: 100, sendWindow: defaultWindow, initWindow: defaultWindow, maxFrame: minMaxFrameSize,
		br: bufio.NewReaderSize(nc, 32<<10), idleSince: time.Now()}
	cc.cond.L = &cc.mu
	cc.wakeWaiters = cc.broadcast
	cc.enc.Init()
	cc.dec.Init(DefaultTableSize)
	b := append([]byte(nil), clientPrefaceText...)
	b = appendFrameHeader(b, 3*6, frameSettings, 0, 0)
	b = appendSetting(b, settingEnablePush, 0)
	b = appendSetting(b, settingInitialWindowSize, cfg.StreamWindow)
	b = appendSetting(b, settingMaxHeaderListSize, cfg.MaxHeaderList)
	if cfg.ConnWindow > defaultWindow {
		b = appendWindowUpdate(b, 0, cfg.ConnWindow-defaultWindow)
	}
	if err := cc.write(b); err != nil {
		nc.Close()
		return nil, err
	}
	go cc.readLoop()
	return cc, nil
}

// write writes b under wmu with the write timeout.
func (cc *ClientConn) write(b []byte) error {
	cc.nc.SetWriteDeadline(time.Now().Add(cc.cfg.WriteTimeout))
	_, err := cc.nc.Write(b)
	return err
}

// Reserve takes a stream slot for a request, false when the connection
// cannot take one: it is over, going away, or at the server's limit of
// concurrent streams. RoundTrip uses the slot; a slot not used is given
// back with Unreserve.
func (cc *ClientConn) Reserve() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.err != nil || cc.goingAway || cc.reserved >= cc.maxStreams || cc.nextID >= 1<<31-2 {
		return false
	}
	cc.reserved++
	return true
}

// Unreserve gives back a slot Reserve took and RoundTrip did not use.
func (cc *ClientConn) Unreserve() {
	cc.mu.Lock()
	cc.reserved--
	cc.mu.Unlock()
}

// Idle reports whether the connection has no stream open and has had
// none for at least d; Dead, whether it can take no more requests.
func (cc *ClientConn) Idle(d time.Duration) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.reserved == 0 && time.Since(cc.idleSince) >= d
}

// Dead reports whether the connection is over or going away.
func (cc *ClientConn) Dead() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.err != nil || cc.goingAway
}

// Close ends the connection; its streams fail.
func (cc *ClientConn) Close() error {
	cc.fail(ErrConnClosed)
	return nil
}

// fail ends the connection with err, failing every stream.
func (cc *ClientConn) fail(err error) {
	cc.mu.Lock()
	if cc.err == nil {
		cc.err = err
		for _, s := range cc.streams {
			if s.err == nil && !s.ended {
				s.err = err
			}
		}
		cc.nc.Close()
	}
	cc.cond.Broadcast()
	cc.mu.Unlock()
}

// The request pseudo-header names, as the client encodes them.
var (
	methodField    = []byte(":method")
	schemeField    = []byte(":scheme")
	authorityField = []byte(":authority")
	pathField      = []byte(":path")
)

// ClientRequest is a request to send: its pseudo-header fields, the other
// fields (names in any case; connection-specific ones are the caller's to
// leave out, RFC 9113 §8.2.2), and a body of ContentLength bytes (-1
// unknown, 0 none).
//
// RoundTrip encodes the fields before it returns and keeps nothing of
// req, so a caller may reuse req and the bytes it points to.
type ClientRequest struct {
	Method, Scheme, Authority, Path []byte
	Header                          *web.Header // nil: none
	Body                            io.Reader
	ContentLength                   int64
}

// RoundTrip sends req on a slot Reserve took and returns its stream once
// the request, body included, is sent. An error from reading req.Body is
// returned wrapped in a *BodyError; the stream is reset then.
func (cc *ClientConn) RoundTrip(req *ClientRequest) (*ClientStream, error) {
	s, err := cc.sendHead(req)
	if err != nil {
		return nil, err
	}
	if req.ContentLength != 0 && req.Body != nil {
		if err := s.sendBody(req.Body); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// BodyError is the request body failing to read: the client's fault, not
// the server's.
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "http2: reading the request body: " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// sendHead opens a stream and writes its HEADERS (and CONTINUATIONs).
func (cc *ClientConn) sendHead(req *ClientRequest) (*ClientStream, error) {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	cc.mu.Lock()
	if cc.err != nil {
		err := cc.err
		cc.reserved--
		cc.mu.Unlock()
		return nil, err
	}
	s := &ClientStream{cc: cc, id: cc.nextID, sendWindow: cc.initWindow}
	cc.nextID += 2
	cc.streams[s.id] = s
	noBody := req.ContentLength == 0 || req.Body == nil
	s.sentEnd = noBody
	maxFrame := cc.maxFrame
	cc.mu.Unlock()

	block := cc.enc.BeginBlock(cc.hbuf[:0])
	block = cc.enc.AppendField(block, methodField, req.Method)
	block = cc.enc.AppendField(block, schemeField, req.Scheme)
	block = cc.enc.AppendField(block, authorityField, req.Authority)
	block = cc.enc.AppendField(block, pathField, req.Path)
	if hd := req.Header; hd != nil {
		for i := range hd.Len() {
			name, value := hd.At(i)
			block = cc.enc.AppendField(block, name, value)
		}
	}
	cc.hbuf = block
	b := cc.wbuf[:0]
	typ, flags := frameHeaders, uint8(0)
	if noBody {
		flags |= flagEndStream
	}
	for first := true; first || len(block) > 0; first = false {
		n := min(len(block), maxFrame)
		f := flags
		if n == len(block) {
			f |= flagEndHeaders
		}
		b = appendFrameHeader(b, n, typ, f, s.id)
		b = append(b, block[:n]...)
		block = block[n:]
		typ, flags = frameContinuation, 0
	}
	cc.wbuf = b
	if err := cc.write(b); err != nil {
		cc.fail(err)
		return nil, err
	}
	return s, nil
}

// sendBody writes the body as DATA frames within the flow-control
// windows, the last with END_STREAM.
func (s *ClientStream) sendBody(body io.Reader) error {
	buf := make([]byte, minMaxFrameSize)
	for {
		n, rerr := io.ReadFull(body, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return &BodyError{rerr}
		}
		end := rerr != nil
		p := buf[:n]
		for first := true; first || len(p) > 0; first = false {
			k, err := s.takeWindow(len(p))
			if err != nil {
				return err
			}
			last := end && k == len(p)
			if err := s.writeData(p[:k], last); err != nil {
				return err
			}
			p = p[k:]
		}
		if end {
			return nil
		}
	}
}

// takeWindow waits until the stream and the connection may send, and
// takes up to n bytes of both windows (0 for an empty frame).
func (s *ClientStream) takeWindow(n int) (int, error) {
	cc := s.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for n > 0 && (cc.sendWindow <= 0 || s.sendWindow <= 0) && s.err == nil && cc.err == nil {
		cc.cond.Wait()
	}
	if err := s.failed(); err != nil {
		return 0, err
	}
	k := int(min(int64(n), cc.sendWindow, s.sendWindow, int64(cc.maxFrame)))
	cc.sendWindow -= int64(k)
	s.sendWindow -= int64(k)
	return k, nil
}

func (s *ClientStream) writeData(p []byte, end bool) error {
	cc := s.cc
	var flags uint8
	if end {
		flags = flagEndStream
	}
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	b := appendFrameHeader(cc.wbuf[:0], len(p), frameData, flags, s.id)
	b = append(b, p...)
	cc.wbuf = b
	if err := cc.write(b); err != nil {
		cc.fail(err)
		return err
	}
	if end {
		cc.mu.Lock()
		s.sentEnd = true
		cc.mu.Unlock()
	}
	return nil
}

// failed is the stream's or the connection's error. Called with cc.mu held.
func (s *ClientStream) failed() error {
	if s.err != nil {
		return s.err
	}
	return s.cc.err
}

// wait waits under cc.mu for done, or until deadline (zero: none).
func (s *ClientStream) wait(deadline time.Time, done func() bool) error {
	cc := s.cc
	if done() {
		return nil // no timer for what has come already
	}
	if !deadline.IsZero() {
		t := time.AfterFunc(time.Until(deadline), cc.wakeWaiters)
		defer t.Stop()
	}
	for !done() {
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return errTimeout
		}
		cc.cond.Wait()
	}
	return nil
}

// errTimeout is a wait past its deadline; it is a net.Error that says
// Timeout, as a socket's would.
var errTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "http2: timeout awaiting the server" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// Head waits for the response head, until deadline (zero: none), and
// returns its status and fields. Interim (1xx) heads are skipped.
//
// The fields are the stream's, unchanged once returned, and valid until
// Close.
func (s *ClientStream) Head(deadline time.Time) (int, *web.Header, error) {
	cc := s.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	err := s.wait(deadline, func() bool { return s.headDone || s.failed() != nil })
	if s.headDone {
		return s.status, &s.header, nil
	}
	if err == nil {
		err = s.failed()
	}
	return 0, nil, err
}

// ReadBody reads response body bytes into p, waiting until deadline (zero:
// none) for some; io.EOF at the end of the stream.
func (s *ClientStream) ReadBody(p []byte, deadline time.Time) (int, error) {
	cc := s.cc
	cc.mu.Lock()
	err := s.wait(deadline, func() bool { return len(s.data) > 0 || s.ended || s.failed() != nil })
	n := copy(p, s.data)
	s.data = s.data[n:]
	if len(s.data) == 0 {
		s.data = s.data[:0:0]
	}
	switch {
	case n > 0:
		err = nil
	case err != nil:
	case s.ended:
		err = io.EOF
	default:
		err = s.failed()
	}
	var streamUpdate, connUpdate uint32
	if n > 0 {
		s.unacked += int64(n)
		cc.unacked += int64(n)
		if !s.ended && s.unacked >= int64(cc.cfg.StreamWindow/2) {
			streamUpdate, s.unacked = uint32(s.unacked), 0
		}
		if cc.unacked >= int64(cc.cfg.ConnWindow/2) {
			connUpdate, cc.unacked = uint32(cc.unacked), 0
		}
	}
	cc.mu.Unlock()
	if streamUpdate > 0 || connUpdate > 0 {
		cc.windowUpdate(s.id, streamUpdate, connUpdate)
	}
	return n, err
}

// windowUpdate gives bytes read back to the stream's and the
// connection's receive windows.
func (cc *ClientConn) windowUpdate(id, stream, conn uint32) {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	b := cc.wbuf[:0]
	if stream > 0 {
		b = appendWindowUpdate(b, id, stream)
	}
	if conn > 0 {
		b = appendWindowUpdate(b, 0, conn)
	}
	cc.wbuf = b
	if err := cc.write(b); err != nil {
		cc.fail(err)
	}
}

// Trailer is the response's trailer fields, once the body has ended
// (none before); valid until Close.
func (s *ClientStream) Trailer() *web.Header {
	s.cc.mu.Lock()
	defer s.cc.mu.Unlock()
	return &s.trailer
}

// Close ends the stream: reset (CANCEL) if either side has not ended it,
// and its slot given back. Safe to call twice.
func (s *ClientStream) Close() {
	cc := s.cc
	cc.mu.Lock()
	if s.closed {
		cc.mu.Unlock()
		return
	}
	s.closed = true
	reset := (!s.ended || !s.sentEnd) && s.err == nil && cc.err == nil
	if s.err == nil {
		s.err = ErrStreamReset
	}
	delete(cc.streams, s.id)
	cc.unacked += int64(len(s.data)) // unread bytes go back to the connection window
	s.data = nil
	cc.keepSpare(&s.header) // what Head and Trailer returned is valid until Close
	cc.keepSpare(&s.trailer)
	cc.reserved--
	if cc.reserved == 0 {
		cc.idleSince = time.Now()
	}
	cc.cond.Broadcast()
	cc.mu.Unlock()
	if reset {
		cc.wmu.Lock()
		b := appendRSTStream(cc.wbuf[:0], s.id, ErrCodeCancel)
		cc.wbuf = b
		if err := cc.write(b); err != nil {
			cc.wmu.Unlock()
			cc.fail(err)
			return
		}
		cc.wmu.Unlock()
	}
}

// StreamError is the server resetting a stream with Code.
type StreamError struct{ Code ErrCode }

func (e *StreamError) Error() string { return "http2: stream reset by the server: " + e.Code.String() }

// readLoop reads frames until the connection fails.
func (cc *ClientConn) readLoop() {
	var hdr [frameHeaderLen]byte
	payload := make([]byte, minMaxFrameSize)
	for {
		if _, err := io.ReadFull(cc.br, hdr[:]); err != nil {
			cc.fail(fmt.Errorf("http2: the server closed the connection: %w", err))
			return
		}
		h := parseFrameHeader(hdr[:])
		if h.length > minMaxFrameSize {
			cc.failWith(ErrCodeFrameSize, "a frame over the 16384 bytes advertised")
			return
		}
		p := payload[:h.length]
		if _, err := io.ReadFull(cc.br, p); err != nil {
			cc.fail(fmt.Errorf("http2: the server closed the connection: %w", err))
			return
		}
		if err := cc.frame(h, p); err != nil {
			var ce *connError
			if errors.As(err, &ce) {
				cc.failWith(ce.code, ce.reason)
			} else {
				cc.fail(err)
			}
			return
		}
	}
}

// failWith sends GOAWAY with code and ends the connection.
func (cc *ClientConn) failWith(code ErrCode, msg string) {
	cc.wmu.Lock()
	cc.write(appendGoAway(nil, 0, code)) // best effort: the connection ends either way
	cc.wmu.Unlock()
	cc.fail(connErr(code, msg))
}

// frame acts on one frame from the server.
func (cc *ClientConn) frame(h frameHeader, p []byte) error {
	if cc.inBlock && h.typ != frameContinuation {
		return connErr(ErrCodeProtocol, "a frame inside a header block")
	}
	switch h.typ {
	case frameData:
		return cc.data(h, p)
	case frameHeaders:
		return cc.headers(h, p)
	case frameContinuation:
		if !cc.inBlock {
			return connErr(ErrCodeProtocol, "CONTINUATION without HEADERS")
		}
		return cc.continuation(h, p)
	case frameRSTStream:
		if len(p) != 4 {
			return connErr(ErrCodeFrameSize, "RST_STREAM of the wrong size")
		}
		code := ErrCode(binary.BigEndian.Uint32(p))
		cc.mu.Lock()
		if s := cc.streams[h.stream]; s != nil && s.err == nil {
			s.err = &StreamError{code}
			if code == ErrCodeRefusedStream {
				s.err = ErrRefused
			}
		}
		cc.cond.Broadcast()
		cc.mu.Unlock()
	case frameSettings:
		return cc.settings(h, p)
	case framePing:
		if len(p) != 8 {
			return connErr(ErrCodeFrameSize, "PING of the wrong size")
		}
		if !h.has(flagAck) {
			cc.wmu.Lock()
			b := appendFrameHeader(cc.wbuf[:0], 8, framePing, flagAck, 0)
			b = append(b, p...)
			cc.wbuf = b
			err := cc.write(b)
			cc.wmu.Unlock()
			return err
		}
	case frameGoAway:
		if len(p) < 8 {
			return connErr(ErrCodeFrameSize, "GOAWAY too short")
		}
		last := binary.BigEndian.Uint32(p) & (1<<31 - 1)
		cc.mu.Lock()
		cc.goingAway, cc.lastID = true, last
		for id, s := range cc.streams {
			if id > last && s.err == nil {
				s.err = ErrRefused
			}
		}
		cc.cond.Broadcast()
		cc.mu.Unlock()
	case frameWindowUpdate:
		if len(p) != 4 {
			return connErr(ErrCodeFrameSize, "WINDOW_UPDATE of the wrong size")
		}
		incr := int64(binary.BigEndian.Uint32(p) & (1<<31 - 1))
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if h.stream == 0 {
			cc.sendWindow += incr
			if cc.sendWindow > maxWindow {
				return connErr(ErrCodeFlowControl, "the connection window past 2^31-1")
			}
		} else if s := cc.streams[h.stream]; s != nil {
			s.sendWindow += incr
		}
		cc.cond.Broadcast()
	case framePushPromise:
		return connErr(ErrCodeProtocol, "PUSH_PROMISE, with push disabled")
	}
	return nil // PRIORITY and unknown types are ignored (§5.5)
}

// data takes a DATA frame's payload into its stream.
func (cc *ClientConn) data(h frameHeader, p []byte) error {
	n := len(p) // the whole frame counts against the windows, padding included (§6.9.1)
	p, err := stripPadding(h, p)
	if err != nil {
		return err
	}
	cc.mu.Lock()
	s := cc.streams[h.stream]
	if s == nil || s.closed || !s.headDone {
		// A stream we reset: its bytes still count for the connection.
		cc.unacked += int64(n)
		update := cc.unacked >= int64(cc.cfg.ConnWindow/2)
		var give uint32
		if update {
			give, cc.unacked = uint32(cc.unacked), 0
		}
		cc.mu.Unlock()
		if s != nil && !s.headDone {
			return connErr(ErrCodeProtocol, "DATA before HEADERS")
		}
		if update {
			cc.windowUpdate(0, 0, give)
		}
		return nil
	}
	// The server may have sent up to the window less what it was not
	// given back: what is unread, and what was read but not yet updated.
	if int64(len(s.data))+s.unacked+int64(n) > int64(cc.cfg.StreamWindow) {
		cc.mu.Unlock()
		return connErr(ErrCodeFlowControl, "a stream sent past its window")
	}
	s.data = append(s.data, p...)
	// Padding is never read: it is given back with the bytes read.
	s.unacked += int64(n - len(p))
	cc.unacked += int64(n - len(p))
	if h.has(flagEndStream) {
		s.ended = true
	}
	cc.cond.Broadcast()
	cc.mu.Unlock()
	return nil
}

// headers starts gathering a header block.
func (cc *ClientConn) headers(h frameHeader, p []byte) error {
	p, err := stripPadding(h, p)
	if err != nil {
		return err
	}
	if h.has(flagPriority) {
		if len(p) < 5 {
			return connErr(ErrCodeFrameSize, "HEADERS too short")
		}
		p = p[5:]
	}
	if len(p) > int(cc.cfg.MaxHeaderList) {
		return connErr(ErrCodeProtocol, "a response head past its bound")
	}
	cc.inBlock, cc.blockHeader = true, h
	cc.block = append(cc.block[:0], p...)
	if h.has(flagEndHeaders) {
		return cc.endBlock()
	}
	return nil
}

func (cc *ClientConn) continuation(h frameHeader, p []byte) error {
	if h.stream != cc.blockHeader.stream {
		return connErr(ErrCodeProtocol, "CONTINUATION of another stream")
	}
	if len(cc.block)+len(p) > int(cc.cfg.MaxHeaderList) {
		return connErr(ErrCodeProtocol, "a response head past its bound")
	}
	cc.block = append(cc.block, p...)
	if h.has(flagEndHeaders) {
		return cc.endBlock()
	}
	return nil
}

// endBlock decodes a whole header block: a stream's head or trailers.
func (cc *ClientConn) endBlock() error {
	h := cc.blockHeader
	sink := &cc.sink
	sink.reset(int(cc.cfg.MaxHeaderList))
	err := cc.dec.Decode(cc.block, sink)
	cc.inBlock = false
	if errors.Is(err, ErrCompression) {
		return connErr(ErrCodeCompression, "a header block that does not decode")
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	s := cc.streams[h.stream]
	if s == nil || s.closed {
		return nil // a stream we reset; the table is kept in step all the same
	}
	if err != nil {
		s.err = err
		cc.cond.Broadcast()
		return nil
	}
	if s.headDone {
		cc.handOver(&s.trailer)
		if !h.has(flagEndStream) {
			return connErr(ErrCodeProtocol, "trailers without END_STREAM")
		}
		s.ended = true
		cc.cond.Broadcast()
		return nil
	}
	status := sink.status
	switch {
	case status < 100 || status > 999:
		s.err = errors.New("http2: a response without a valid :status")
	case status < 200:
		return nil // an interim head: the final one follows
	default:
		cc.handOver(&s.header)
		s.status, s.headDone = status, true
		s.ended = h.has(flagEndStream)
	}
	cc.cond.Broadcast()
	return nil
}

// fieldList gathers a decoded block: :status, and the other fields. The
// read loop keeps one and reuses it block after block.
type fieldList struct {
	status int
	fields web.Header
	size   int
	max    int
}

func (l *fieldList) reset(max int) {
	l.status, l.size, l.max = 0, 0, max
	l.fields.Reset()
}

// broadcast wakes the waits, for the one whose deadline has come; as
// cc.wakeWaiters, a func value made once per connection, a wait's timer
// allocates no closure.
func (cc *ClientConn) broadcast() {
	cc.mu.Lock()
	cc.cond.Broadcast()
	cc.mu.Unlock()
}

// maxSpare bounds ClientConn.spare.
const maxSpare = 16

// handOver gives the fields the read loop decoded to dst, a stream's
// (empty) fields, and the read loop a spare buffer for the next block:
// no copy, and once streams have closed, no allocation. mu held.
func (cc *ClientConn) handOver(dst *web.Header) {
	*dst, cc.sink.fields = cc.sink.fields, *dst
	if n := len(cc.spare); n > 0 {
		cc.sink.fields, cc.spare[n-1] = cc.spare[n-1], web.Header{}
		cc.spare = cc.spare[:n-1]
	}
}

// keepSpare keeps a closed stream's fields buffer for handOver. mu held.
func (cc *ClientConn) keepSpare(h *web.Header) {
	if h.Len() == 0 || len(cc.spare) >= maxSpare {
		return
	}
	h.Reset()
	cc.spare = append(cc.spare, *h)
	*h = web.Header{}
}

func (l *fieldList) Field(name, value []byte, _ bool) error {
	l.size += len(name) + len(value) + 32
	if l.size > l.max {
		return errors.New("http2: a response head past its bound")
	}
	if string(name) == ":status" {
		n := 0
		for _, c := range value {
			if c < '0' || c > '9' || len(value) != 3 {
				return errors.New("http2: a :status that is not three digits")
			}
			n = n*10 + int(c-'0')
		}
		l.status = n
		return nil
	}
	if len(name) > 0 && name[0] == ':' {
		return errors.New("http2: a pseudo-header a response has not")
	}
	l.fields.AddTrusted(name, value)
	return nil
}

// settings applies the server's SETTINGS and acknowledges them.
func (cc *ClientConn) settings(h frameHeader, p []byte) error {
	if h.has(flagAck) {
		return nil
	}
	if len(p)%6 != 0 {
		return connErr(ErrCodeFrameSize, "SETTINGS of the wrong size")
	}
	var table uint32
	setTable := false
	cc.mu.Lock()
	for ; len(p) >= 6; p = p[6:] {
		id, v := binary.BigEndian.Uint16(p), binary.BigEndian.Uint32(p[2:])
		switch id {
		case settingMaxConcurrentStreams:
			cc.maxStreams = v
		case settingInitialWindowSize:
			if v > maxWindow {
				cc.mu.Unlock()
				return connErr(ErrCodeFlowControl, "an initial window past 2^31-1")
			}
			delta := int64(v) - cc.initWindow // §6.9.2: open streams' windows move by as much
			for _, s := range cc.streams {
				s.sendWindow += delta
			}
			cc.initWindow = int64(v)
		case settingMaxFrameSize:
			if v < minMaxFrameSize || v > maxMaxFrameSize {
				cc.mu.Unlock()
				return connErr(ErrCodeProtocol, "a max frame size out of range")
			}
			cc.maxFrame = int(v)
		case settingHeaderTableSize:
			table, setTable = v, true
		}
	}
	cc.cond.Broadcast()
	cc.mu.Unlock()
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	if setTable {
		cc.enc.SetMaxTableSize(table)
	}
	b := appendFrameHeader(cc.wbuf[:0], 0, frameSettings, flagAck, 0)
	cc.wbuf = b
	return cc.write(b)
}

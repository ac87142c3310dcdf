package http2

import (
	"errors"
	"time"

	"nave/internal/servermetrics"
	"nave/internal/web"
)

// Frames as they arrive (RFC 9113 §6): each type's rules, the flood
// budget, stream resets, and the receive windows.

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
	if st := c.streams[id]; st != nil {
		defer c.mu.Unlock()
		return c.onTrailersLocked(st, block)
	}
	c.mu.Unlock()
	switch {
	case id <= c.lastID:
		if err := c.dec.Decode(block, discard{}); err != nil {
			return connErr(ErrCodeCompression, err.Error())
		}
		c.mu.Lock()
		lately := c.resetLately(id)
		c.mu.Unlock()
		if lately {
			return c.spend(1) // ignored, but not for free: a flood's mark
		}
		return connErr(ErrCodeStreamClosed, "HEADERS on a closed stream")
	case id%2 == 0:
		return connErr(ErrCodeProtocol, "client opened an even stream")
	}
	c.lastID = id
	st := newStream(c, id)
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
		c.sendRSTLocked(id, code)
		c.noteReset(id)
		c.mu.Unlock()
		st.free()
		return c.spend(1)
	}
	c.streams[id] = st
	c.running++
	if c.m != nil {
		c.m.H2Stream()
		c.moveLocked(servermetrics.ConnHandling)
	}
	st.sendWindow = c.peerWindow
	st.recvWindow = int64(c.set.streamWindow)
	if !c.acked {
		// The client may not have applied nave's SETTINGS yet: until it
		// acknowledges them, a window smaller than the protocol's default
		// is not held against it (RFC 9113 §6.5.3).
		st.recvWindow = max(st.recvWindow, defaultWindow)
	}
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

// onTrailersLocked handles a header block on a stream already open: its
// trailers, which must end it (§8.1). mu is held throughout, from the
// stream's lookup on: its handler may finish, and the stream go back to
// the pool, as soon as mu is let go.
func (c *Conn) onTrailersLocked(st *stream, block []byte) error {
	if st.remoteDone {
		// §5.1: half-closed (remote) takes no HEADERS. (A closed stream
		// is no longer in c.streams: onBlock handles it.)
		if err := c.dec.Decode(block, discard{}); err != nil {
			return connErr(ErrCodeCompression, err.Error())
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
	// The stream is looked up under the lock it is used under: a detached
	// handler that ends meanwhile may free it (finishStream).
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.streams[h.stream]
	if st == nil {
		c.creditLocked(nil, size)
		if h.stream > c.lastID {
			return connErr(ErrCodeProtocol, "DATA on an idle stream")
		}
		if c.resetLately(h.stream) {
			return nil
		}
		c.sendRSTLocked(h.stream, ErrCodeStreamClosed)
		c.noteReset(h.stream)
		return c.spend(1)
	}
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
	if c.m != nil {
		// Counted as it arrives: a handler may answer before the body
		// does, and its stream is gone by the time the rest comes.
		c.m.Requests.BodyRead(int64(len(data)))
	}
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
	c.sendRSTLocked(id, code)
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
		if string(p) == shutdownPing {
			c.mu.Lock()
			c.pingBack = true
			c.mu.Unlock()
		}
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
		c.sendRSTLocked(st.id, code)
		c.noteReset(st.id)
		st.closeLocked(ErrStreamReset)
	}
	return c.spend(1)
}

// noteReset remembers that nave reset stream id, so that frames the
// client sent before it learnt of the reset are ignored (§5.1). mu is
// held: handlers reset streams too (resetLocked).
func (c *Conn) noteReset(id uint32) {
	c.recent[c.recentN%len(c.recent)] = id
	c.recentN++
}

// resetLately reports whether nave reset stream id lately. mu is held.
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

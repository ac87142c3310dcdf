package http2

// --trace for HTTP/2: every frame read and written, one line each (type,
// stream, flags, length, and what a person wants of it: settings, window
// increments, error codes), and the fields of each header block, decoded
// by HPACK decoders of the trace's own that see the same blocks in the
// same order as the two ends' tables. DATA is shown by its length.

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"nave/internal/wiretrace"
)

var frameNames = [...]string{
	"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE",
	"PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION",
}

var settingNames = map[uint16]string{
	settingHeaderTableSize: "HEADER_TABLE_SIZE", settingEnablePush: "ENABLE_PUSH",
	settingMaxConcurrentStreams: "MAX_CONCURRENT_STREAMS", settingInitialWindowSize: "INITIAL_WINDOW_SIZE",
	settingMaxFrameSize: "MAX_FRAME_SIZE", settingMaxHeaderListSize: "MAX_HEADER_LIST_SIZE",
	settingEnableConnect: "ENABLE_CONNECT_PROTOCOL",
}

// connTrace traces one connection. in is the reader's; out is the
// writer's (one goroutine writes at a time, flushLocked sees to it).
type connTrace struct {
	t      *wiretrace.Tracer
	remote netip.AddrPort
	in     traceDir
	out    traceDir

	mu     sync.Mutex
	traced map[uint32]bool // guarded by mu: streams whose path is traced, when Filtered
}

// traceDir is one direction's state: its decoder, and the header block
// being joined from HEADERS and CONTINUATION frames.
type traceDir struct {
	dir    byte
	dec    Decoder
	broken bool   // the decoder failed: its table is out of step, fields are no longer shown
	block  []byte // the header block so far
	first  frameHeader
	frames int // CONTINUATIONs joined
	buf    []byte
	sink   traceSink
}

func newConnTrace(t *wiretrace.Tracer, remote netip.AddrPort) *connTrace {
	ct := &connTrace{t: t, remote: remote, traced: map[uint32]bool{}}
	ct.in.dir, ct.out.dir = wiretrace.In, wiretrace.Out
	ct.in.dec.Init(^uint32(0))
	ct.out.dec.Init(^uint32(0))
	return ct
}

// inbound traces a frame the client sent.
func (ct *connTrace) inbound(h frameHeader, p []byte) { ct.frame(&ct.in, h, p) }

// outbound traces the frames in buf, as written to the client.
func (ct *connTrace) outbound(buf []byte) {
	for len(buf) >= frameHeaderLen {
		h := parseFrameHeader(buf)
		end := frameHeaderLen + int(h.length)
		if end > len(buf) {
			return
		}
		ct.frame(&ct.out, h, buf[frameHeaderLen:end])
		buf = buf[end:]
	}
}

// frame traces one frame; header blocks once they are whole.
func (ct *connTrace) frame(d *traceDir, h frameHeader, p []byte) {
	switch {
	case h.typ == frameHeaders:
		d.first, d.frames, d.block = h, 0, append(d.block[:0], headerFragment(h, p)...)
		if h.has(flagEndHeaders) {
			ct.block(d)
		}
		return
	case h.typ == frameContinuation && d.first.typ == frameHeaders:
		d.frames++
		d.block = append(d.block, p...)
		if h.has(flagEndHeaders) {
			ct.block(d)
		}
		return
	}
	if !ct.shown(h.stream) {
		return
	}
	b := ct.line(d, h, p)
	ct.t.Write(b)
	d.buf = b
}

// headerFragment is a HEADERS frame's block fragment, without padding and
// priority; nil when the frame is malformed (the connection rejects it).
func headerFragment(h frameHeader, p []byte) []byte {
	pad := 0
	if h.has(flagPadded) {
		if len(p) < 1 {
			return nil
		}
		pad, p = int(p[0]), p[1:]
	}
	if h.has(flagPriority) {
		if len(p) < 5 {
			return nil
		}
		p = p[5:]
	}
	if pad > len(p) {
		return nil
	}
	return p[:len(p)-pad]
}

// block traces a whole header block: its HEADERS frame's line, then the
// decoded fields. A client's request headers decide whether the stream
// is traced at all.
func (ct *connTrace) block(d *traceDir) {
	h := d.first
	d.first = frameHeader{}
	d.sink.b, d.sink.hasPath = d.sink.b[:0], false
	skipped := d.broken
	var err error
	if !skipped {
		err = d.dec.Decode(d.block, &d.sink)
		d.broken = err != nil
	}
	fields := d.sink.b
	if d.dir == wiretrace.In && d.sink.hasPath && ct.t.Filtered() {
		ct.mu.Lock()
		if ct.t.Match(d.sink.path) {
			ct.traced[h.stream] = true
		}
		ct.mu.Unlock()
	}
	if !ct.shown(h.stream) {
		return
	}
	b := ct.line(d, frameHeader{typ: frameHeaders, flags: h.flags, stream: h.stream, length: uint32(len(d.block))}, nil)
	if d.frames > 0 {
		b = b[:len(b)-1]
		b = append(b, " (joined from "...)
		b = strconv.AppendInt(b, int64(d.frames+1), 10)
		b = append(b, " frames)\n"...)
	}
	switch {
	case err != nil:
		b = append(b, "    (cannot decode: "...)
		b = append(b, err.Error()...)
		b = append(b, ")\n"...)
	case skipped:
		b = append(b, "    (fields not shown: an earlier block failed to decode)\n"...)
	}
	b = append(b, fields...)
	ct.t.Write(b)
	d.buf = b
	if h.has(flagEndStream) && d.dir == wiretrace.Out {
		ct.forget(h.stream)
	}
}

// shown reports whether frames of stream are traced.
func (ct *connTrace) shown(stream uint32) bool {
	if !ct.t.Filtered() {
		return true
	}
	if stream == 0 {
		return false
	}
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.traced[stream]
}

// forget drops a finished stream from the traced set.
func (ct *connTrace) forget(stream uint32) {
	ct.mu.Lock()
	delete(ct.traced, stream)
	ct.mu.Unlock()
}

// line renders a frame's line, fields apart.
func (ct *connTrace) line(d *traceDir, h frameHeader, p []byte) []byte {
	b := wiretrace.AppendStamp(d.buf[:0], time.Now(), ct.remote, d.dir)
	b = append(b, "h2 "...)
	if int(h.typ) < len(frameNames) {
		b = append(b, frameNames[h.typ]...)
	} else {
		b = append(b, "UNKNOWN(0x"...)
		b = strconv.AppendUint(b, uint64(h.typ), 16)
		b = append(b, ')')
	}
	b = append(b, " stream="...)
	b = strconv.AppendUint(b, uint64(h.stream), 10)
	b = append(b, " length="...)
	b = strconv.AppendUint(b, uint64(h.length), 10)
	b = appendFlags(b, h)
	b = appendDetail(b, h, p)
	if h.typ == frameData && h.has(flagEndStream) && d.dir == wiretrace.Out {
		ct.forget(h.stream)
	}
	if h.typ == frameRSTStream {
		ct.forget(h.stream)
	}
	return append(b, '\n')
}

func appendFlags(b []byte, h frameHeader) []byte {
	var names []string
	switch h.typ {
	case frameData:
		names = []string{flagEndStream: "END_STREAM", flagPadded: "PADDED"}
	case frameHeaders:
		names = []string{flagEndStream: "END_STREAM", flagEndHeaders: "END_HEADERS", flagPadded: "PADDED", flagPriority: "PRIORITY"}
	case frameSettings, framePing:
		names = []string{flagAck: "ACK"}
	case frameContinuation:
		names = []string{flagEndHeaders: "END_HEADERS"}
	}
	sep := " flags="
	for f, name := range names {
		if name != "" && h.flags&uint8(f) != 0 {
			b = append(b, sep...)
			b = append(b, name...)
			sep = "|"
		}
	}
	return b
}

// appendDetail appends what a frame says beyond its header.
func appendDetail(b []byte, h frameHeader, p []byte) []byte {
	switch {
	case h.typ == frameSettings && !h.has(flagAck):
		for ; len(p) >= 6; p = p[6:] {
			id, v := binary.BigEndian.Uint16(p), binary.BigEndian.Uint32(p[2:])
			b = append(b, ' ')
			if name, ok := settingNames[id]; ok {
				b = append(b, name...)
			} else {
				b = append(b, "0x"...)
				b = strconv.AppendUint(b, uint64(id), 16)
			}
			b = append(b, '=')
			b = strconv.AppendUint(b, uint64(v), 10)
		}
	case h.typ == frameWindowUpdate && len(p) >= 4:
		b = append(b, " increment="...)
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(p)&maxWindow), 10)
	case h.typ == frameRSTStream && len(p) >= 4:
		b = append(b, " error="...)
		b = append(b, ErrCode(binary.BigEndian.Uint32(p)).String()...)
	case h.typ == frameGoAway && len(p) >= 8:
		b = append(b, " last_stream="...)
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(p)&maxWindow), 10)
		b = append(b, " error="...)
		b = append(b, ErrCode(binary.BigEndian.Uint32(p[4:])).String()...)
	}
	return b
}

// traceSink renders decoded fields, indented, and keeps :path.
type traceSink struct {
	b       []byte
	path    []byte
	hasPath bool
}

func (s *traceSink) Field(name, value []byte, _ bool) error {
	s.b = append(s.b, "    "...)
	s.b = wiretrace.AppendSafe(s.b, name)
	s.b = append(s.b, ':', ' ')
	s.b = wiretrace.AppendSafe(s.b, value)
	s.b = append(s.b, '\n')
	if string(name) == ":path" {
		s.path, s.hasPath = append(s.path[:0], value...), true
	}
	return nil
}

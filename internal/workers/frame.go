package workers

import (
	"encoding/binary"
	"fmt"
)

// The wire between nave and a worker process is a stream of frames, both
// ways, the same for every gateway:
//
//	[u32 payload length][u8 type][u32 request id][payload]
//
// little-endian. What the types mean, and how large each may be, is the
// gateway's (internal/wsgi, internal/asgi); the framing, its bounds
// checks and the reading buffer are here.
const FrameHeaderSize = 9

// AppendFrameHeader appends the header of a frame of type t for request
// id with n payload bytes.
func AppendFrameHeader(b []byte, t uint8, id uint32, n int) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = append(b, t)
	return binary.LittleEndian.AppendUint32(b, id)
}

// Frame is one decoded frame. Payload aliases the bytes it was parsed
// from.
type Frame struct {
	Type    uint8
	ID      uint32
	Payload []byte
}

// A FrameError is a frame that breaks the framing: a type the gateway does
// not know, or a payload longer than the gateway allows for its type.
type FrameError struct{ Reason string }

func (e *FrameError) Error() string { return e.Reason }

// ParseFrame decodes the frame at the start of b. It returns n == 0 and no
// error when b does not hold the whole frame yet. limit(t) is the largest
// payload a frame of type t may have, or -1 for a type never accepted;
// it is checked from the header alone, so that a bad length fails before
// its bytes are read or buffered.
func ParseFrame(b []byte, limit func(t uint8) int) (f Frame, n int, err error) {
	if len(b) < FrameHeaderSize {
		return Frame{}, 0, nil
	}
	size := binary.LittleEndian.Uint32(b)
	f.Type = b[4]
	f.ID = binary.LittleEndian.Uint32(b[5:])
	max := limit(f.Type)
	if max < 0 {
		return Frame{}, 0, &FrameError{fmt.Sprintf("unknown frame type %d", f.Type)}
	}
	if uint64(size) > uint64(max) {
		return Frame{}, 0, &FrameError{fmt.Sprintf("frame type %d of %d bytes, limit %d", f.Type, size, max)}
	}
	end := FrameHeaderSize + int(size)
	if len(b) < end {
		return Frame{}, 0, nil
	}
	f.Payload = b[FrameHeaderSize:end:end]
	return f, end, nil
}

// FrameBuffer holds what was read from a worker's socket and not yet
// parsed: the reading side of the wire. One goroutine uses it: it asks
// Next for a frame, and when none is whole reads into Space and reports
// the count to Filled. The buffer grows for a frame larger than it, up to
// the largest frame the limits allow, and moves unread bytes to its front
// rather than grow when it can.
type FrameBuffer struct {
	buf   []byte
	r, w  int // unread bytes are buf[r:w]
	max   int // the largest buffer: a header and the largest payload
	limit func(t uint8) int
}

// NewFrameBuffer returns a buffer of size bytes that grows up to a
// header and maxPayload bytes, parsing with limit (ParseFrame's).
func NewFrameBuffer(size, maxPayload int, limit func(t uint8) int) *FrameBuffer {
	return &FrameBuffer{buf: make([]byte, size), max: FrameHeaderSize + maxPayload, limit: limit}
}

// Next returns the next whole frame buffered, and consumes it; ok is
// false when none is whole yet. The payload is valid until the next
// Space.
func (b *FrameBuffer) Next() (f Frame, ok bool, err error) {
	f, n, err := ParseFrame(b.buf[b.r:b.w], b.limit)
	if err != nil || n == 0 {
		return Frame{}, false, err
	}
	b.r += n
	return f, true, nil
}

// Buffered reports whether a whole frame (or a frame that breaks the
// framing) is waiting: a reader tells the end of a batch by it.
func (b *FrameBuffer) Buffered() bool {
	_, n, err := ParseFrame(b.buf[b.r:b.w], b.limit)
	return n > 0 || err != nil
}

// Space makes room for a read and returns it: the buffer's free tail,
// after moving the unread bytes to the front or growing the buffer for a
// frame larger than it (whose announced size Next has checked).
func (b *FrameBuffer) Space() []byte {
	switch {
	case b.r == b.w:
		b.r, b.w = 0, 0
	case b.w == len(b.buf) && b.r > 0:
		b.w = copy(b.buf, b.buf[b.r:b.w])
		b.r = 0
	case b.w == len(b.buf):
		grown := make([]byte, min(2*len(b.buf), b.max))
		b.w = copy(grown, b.buf[b.r:b.w])
		b.buf, b.r = grown, 0
	}
	return b.buf[b.w:]
}

// Filled records n bytes read into the last Space.
func (b *FrameBuffer) Filled(n int) { b.w += max(n, 0) }

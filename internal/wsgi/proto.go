package wsgi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"syscall"

	"nave/internal/rawio"
	"nave/internal/web"
	"nave/internal/workers"
)

// The wire between nave and a worker is a stream of frames, both ways:
//
//	[u32 payload length][u8 type][u32 request id][payload]
//
// little-endian. A worker answers the requests of a batch strictly in the
// order it got them, so each reply frame must carry the id of the oldest
// request not yet answered; anything else is a protocol error.
const frameHeaderSize = workers.FrameHeaderSize

type frameType uint8

// Frames nave sends.
const (
	// frameRequest: u32 environ length, the environ (NUL-separated latin-1
	// key/value pairs, see environ.go), then the whole request body.
	frameRequest frameType = 1
	// frameRequestFD: u32 environ length and the environ; the body is in
	// the next descriptor passed with SCM_RIGHTS, from offset 0.
	frameRequestFD frameType = 2
	// frameCancel: the client is gone; stop streaming this request.
	frameCancel frameType = 3
)

// Frames a worker sends.
const (
	frameReady frameType = 16 // "pid\x00python version": the app imported
	frameStart frameType = 17 // the response head: "200 OK\x00Name\x00value..."
	frameData  frameType = 18 // body bytes
	frameEnd   frameType = 19 // the response is complete
	// frameResponse is START, DATA and END in one: u32 head length, the
	// head, the whole body. Most responses travel this way.
	frameResponse frameType = 20
	// frameFile: u64 offset, i64 count (-1: to the end); the descriptor of
	// a regular file is passed with SCM_RIGHTS (wsgi.file_wrapper).
	frameFile  frameType = 21
	frameError frameType = 22 // the app failed; a one-line reason (the traceback went to stderr)
)

// Bounds on what a worker may send. A frame past its bound is a protocol
// error, and the worker is replaced.
const (
	maxHeadBytes    = 256 << 10 // a response's status line and header fields
	maxHeaderFields = 500
	maxDataBytes    = 1 << 20 // one DATA frame; the adapter splits larger blocks
	maxReadyBytes   = 1 << 10
	maxErrorBytes   = 8 << 10
	maxFrameBytes   = 4 + maxHeadBytes + maxDataBytes // the largest payload: a RESPONSE
	maxPendingFDs   = 16                              // descriptors received ahead of their FILE frames
)

// ProtocolError is a worker that broke the framing: nave stops talking to
// it, answers its request 502, and starts another.
type ProtocolError struct{ Reason string }

func (e *ProtocolError) Error() string { return "wsgi: worker protocol error: " + e.Reason }

func protocolErrorf(format string, args ...any) error {
	return &ProtocolError{fmt.Sprintf(format, args...)}
}

// frame is one decoded frame. payload aliases the reader's buffer: valid
// until the next read.
type frame struct {
	typ     frameType
	id      uint32
	payload []byte
}

// payloadLimit is the largest payload a worker may send in a frame of type
// t, or -1 when nave never accepts that type.
func payloadLimit(t frameType) int {
	switch t {
	case frameReady:
		return maxReadyBytes
	case frameStart:
		return maxHeadBytes
	case frameData:
		return maxDataBytes
	case frameEnd:
		return 0
	case frameResponse:
		return maxFrameBytes
	case frameFile:
		return 16
	case frameError:
		return maxErrorBytes
	}
	return -1
}

// parseFrame decodes the worker frame at the start of b (workers.ParseFrame
// with this gateway's limits). It returns n == 0 and no error when b does
// not hold the whole frame yet.
func parseFrame(b []byte) (f frame, n int, err error) {
	wf, n, err := workers.ParseFrame(b, typeLimit)
	if err != nil || n == 0 {
		return frame{}, 0, asProtocolError(err)
	}
	return checkFrame(wf, n)
}

// checkFrame is a parsed frame in this package's terms, with the checks
// beyond its size's limit.
func checkFrame(wf workers.Frame, n int) (frame, int, error) {
	if wf.Type == uint8(frameFile) && len(wf.Payload) != 16 {
		return frame{}, 0, protocolErrorf("FILE frame of %d bytes", len(wf.Payload))
	}
	return frame{typ: frameType(wf.Type), id: wf.ID, payload: wf.Payload}, n, nil
}

// typeLimit is payloadLimit for workers.ParseFrame.
func typeLimit(t uint8) int { return payloadLimit(frameType(t)) }

// asProtocolError makes a framing error this gateway's ProtocolError.
func asProtocolError(err error) error {
	if fe, ok := err.(*workers.FrameError); ok {
		return &ProtocolError{fe.Reason}
	}
	return err
}

// splitResponse splits a RESPONSE payload into head and body.
func splitResponse(p []byte) (head, body []byte, err error) {
	if len(p) < 4 {
		return nil, nil, protocolErrorf("RESPONSE frame of %d bytes", len(p))
	}
	n := binary.LittleEndian.Uint32(p)
	if uint64(n) > maxHeadBytes || uint64(n) > uint64(len(p)-4) {
		return nil, nil, protocolErrorf("RESPONSE head of %d bytes in %d", n, len(p))
	}
	if len(p)-4-int(n) > maxDataBytes {
		return nil, nil, protocolErrorf("RESPONSE body of %d bytes", len(p)-4-int(n))
	}
	return p[4 : 4+n], p[4+n:], nil
}

// fileRange decodes a FILE payload.
func fileRange(p []byte) (offset, count int64) {
	return int64(binary.LittleEndian.Uint64(p)), int64(binary.LittleEndian.Uint64(p[8:]))
}

// HeadError is a response head nave refuses to send: a malformed status, a
// header name that is not a token, a value with CR, LF or another control
// byte. The client gets a 500; the log gets this.
type HeadError struct{ Reason string }

func (e *HeadError) Error() string { return "wsgi: invalid response head: " + e.Reason }

// responseHead is a decoded, validated START head. fields alias the frame.
type responseHead struct {
	status int
	reason []byte   // the app's reason phrase, after "NNN "
	fields [][]byte // name, value, name, value...
}

// parseHead validates a head "200 OK\x00Name\x00value\x00..." as PEP 3333
// and RFC 9110 §5.5 want it, and fills h, reusing its slice.
func parseHead(b []byte, h *responseHead) error {
	h.fields = h.fields[:0]
	status, rest, more := cut(b)
	if len(status) < 3 || len(status) > 3 && status[3] != ' ' {
		return &HeadError{"status is not \"NNN reason\""}
	}
	code := 0
	for _, c := range status[:3] {
		if c < '0' || c > '9' {
			return &HeadError{"status code is not three digits"}
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 {
		// PEP 3333: 1xx are the server's business, not the app's.
		return &HeadError{"status below 200"}
	}
	if !web.ValidFieldValue(status) {
		return &HeadError{"control byte in the status line"}
	}
	h.status, h.reason = code, nil
	if len(status) > 4 {
		h.reason = status[4:]
	}
	for more {
		var name, value []byte
		name, rest, more = cut(rest)
		if !more {
			return &HeadError{"header name without a value"}
		}
		value, rest, more = cut(rest)
		if len(h.fields) >= 2*maxHeaderFields {
			return &HeadError{"too many header fields"}
		}
		if !web.IsToken(name) {
			return &HeadError{"header name is not a token"}
		}
		if !web.ValidFieldValue(value) {
			return &HeadError{"CR, LF or a control byte in a header value"}
		}
		// RFC 9110 §5.5: whitespace around a value is not part of it, and
		// HTTP/2 forbids sending it (RFC 9113 §8.2.1). Django's cookies
		// come as " a=1; Path=/", as gunicorn, which strips them, sees.
		h.fields = append(h.fields, name, bytes.Trim(value, " \t"))
	}
	return nil
}

// cut splits b at its first NUL; more reports whether there was one.
func cut(b []byte) (before, after []byte, more bool) {
	for i, c := range b {
		if c == 0 {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}

// appendFrameHeader appends the header of a frame of n payload bytes.
func appendFrameHeader(b []byte, t frameType, id uint32, n int) []byte {
	return workers.AppendFrameHeader(b, uint8(t), id, n)
}

// appendRequestHead appends a REQUEST (or REQUEST_FD) frame up to the end
// of its environ; a REQUEST's bodyLen body bytes must follow.
func appendRequestHead(b []byte, t frameType, id uint32, env []byte, bodyLen int) []byte {
	b = appendFrameHeader(b, t, id, 4+len(env)+bodyLen)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(env)))
	return append(b, env...)
}

// frameReader reads a worker's frames and the descriptors passed with
// them. It is used by one goroutine.
type frameReader struct {
	conn *rawio.Conn
	in   *workers.FrameBuffer
	oob  []byte
	fds  []int // received ahead of the FILE frames that claim them, in order
}

// readBufferSize is a frameReader's initial buffer; it grows to hold the
// largest frame it meets, up to maxFrameBytes.
const readBufferSize = 64 << 10

func newFrameReader(conn *rawio.Conn) *frameReader {
	return &frameReader{
		conn: conn,
		in:   workers.NewFrameBuffer(readBufferSize, maxFrameBytes, typeLimit),
		oob:  make([]byte, syscall.CmsgSpace(4*maxPendingFDs)),
	}
}

// next returns the next frame. Its payload is valid until the next call.
func (fr *frameReader) next() (frame, error) {
	for {
		wf, ok, err := fr.in.Next()
		if err != nil {
			return frame{}, asProtocolError(err)
		}
		if ok {
			f, _, err := checkFrame(wf, 0)
			return f, err
		}
		if err := fr.fill(); err != nil {
			return frame{}, err
		}
	}
}

// fill reads more bytes, and the descriptors passed with them.
func (fr *frameReader) fill() error {
	n, oobn, flags, err := fr.conn.ReadMsg(fr.in.Space(), fr.oob)
	fr.in.Filled(n)
	if oobn > 0 {
		if perr := fr.addFDs(fr.oob[:oobn]); perr != nil {
			return perr
		}
	}
	if flags&syscall.MSG_CTRUNC != 0 {
		return protocolErrorf("too many descriptors in one message")
	}
	if n > 0 {
		return nil
	}
	if err == nil || err == io.EOF {
		err = errWorkerEOF
	}
	return err
}

var errWorkerEOF = errors.New("wsgi: worker closed its socket")

func (fr *frameReader) addFDs(oob []byte) error {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return protocolErrorf("bad control message: %v", err)
	}
	for _, m := range msgs {
		fds, err := syscall.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		fr.fds = append(fr.fds, fds...)
	}
	if len(fr.fds) > maxPendingFDs {
		return protocolErrorf("%d descriptors without FILE frames", len(fr.fds))
	}
	return nil
}

// takeFD returns the oldest received descriptor, for a FILE frame.
func (fr *frameReader) takeFD() (int, error) {
	if len(fr.fds) == 0 {
		return -1, protocolErrorf("FILE frame without a descriptor")
	}
	fd := fr.fds[0]
	fr.fds = append(fr.fds[:0], fr.fds[1:]...)
	return fd, nil
}

// closeFDs closes descriptors no frame claimed.
func (fr *frameReader) closeFDs() {
	for _, fd := range fr.fds {
		syscall.Close(fd)
	}
	fr.fds = fr.fds[:0]
}

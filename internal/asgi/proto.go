package asgi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"nave/internal/web"
	"nave/internal/workers"
)

// The wire between nave and a worker is a stream of frames, both ways:
//
//	[u32 payload length][u8 type][u32 request id][payload]
//
// little-endian (internal/workers frames it). Many requests are in flight at
// once; each frame names its request. Every REQUEST gets exactly one
// terminal frame back (END, RESPONSE or ERROR), even after a DISCONNECT:
// until then nave keeps the id, so that it is never reused while the
// worker may still speak of it.
const frameHeaderSize = workers.FrameHeaderSize

type frameType uint8

// Frames nave sends. Types 6–15 are kept for WebSocket frames.
const (
	// frameRequest: u8 flags (flagMoreBody); the u32 lengths of three
	// segments of NUL-separated fields: the request's (method, path
	// decoded, raw_path, query_string), the connection's (scheme,
	// http_version, root_path decoded, client "host:port", server
	// "host:port": the same on every request of a connection, so that
	// the adapter decodes them once and caches them by their bytes), and
	// the headers (names lower-cased, values); the three segments; then
	// the first body chunk, which is the whole body unless flagMoreBody.
	frameRequest frameType = 1
	// frameBody is a further body chunk, more to follow; frameBodyEnd
	// the last (maybe empty). Each answers a RECEIVE: nave reads the
	// client's body only as the app asks for it.
	frameBody    frameType = 2
	frameBodyEnd frameType = 3
	// frameDisconnect: the client is gone; receive() says
	// http.disconnect, send() raises an OSError.
	frameDisconnect frameType = 4
	// frameSent: u32 n: nave has written n more of the request's
	// response body bytes to its client, which the app may now fill
	// again (the adapter's window, adapter.py WINDOW).
	frameSent frameType = 5
)

// flagMoreBody: BODY frames follow the REQUEST, each asked for.
const flagMoreBody = 1

// Frames a worker sends. Types 27–40 are kept for WebSocket frames.
const (
	// frameReady: "pid\x00python version\x00loop\x00lifespan": the app
	// imported and its lifespan startup done ("on", "off", or
	// "unsupported" when auto found the app without one).
	frameReady frameType = 16
	// frameStart: u16 status, then the headers "name\x00value\x00...".
	frameStart frameType = 17
	frameData  frameType = 18 // body bytes, more_body: more follow
	frameEnd   frameType = 19 // the last body bytes (maybe none): terminal
	// frameResponse is START and END in one: u16 status, u32 length of
	// the headers, the headers, the whole body. Terminal. Most responses
	// travel this way.
	frameResponse frameType = 20
	// frameReceive: the app waits in receive(): send the next body chunk.
	frameReceive frameType = 21
	frameError   frameType = 22 // the app failed; a one-line reason. Terminal.
	// frameFatal, id 0, instead of READY: the worker cannot serve (its
	// lifespan startup failed); a one-line reason, then it exits.
	frameFatal frameType = 23
	// frameEarlyHint: the Link values of a 103 (RFC 8297), NUL-separated;
	// only before the final head.
	frameEarlyHint frameType = 24
	// framePathsend: the path of a file to send as the body
	// (http.response.pathsend); END or DATA and TRAILERS follow.
	framePathsend frameType = 25
	// frameTrailers: the trailer fields "name\x00value\x00..." after a body
	// ended with DATA (http.response.trailers). Terminal.
	frameTrailers frameType = 26
	// HEARTBEAT (id 0, no payload): the adapter's loop is alive; sent
	// once a second while requests are in flight, so that a long wait on
	// I/O is not taken for a stuck worker. 41: 27–40 are kept for
	// WebSockets.
	frameHeartbeat frameType = 41
)

// Bounds on what a worker may send; a frame past its bound is a protocol
// error, and nave stops talking to the worker.
const (
	maxHeadBytes    = 256 << 10
	maxHeaderFields = 500
	maxDataBytes    = 1 << 20 // one DATA or END frame; the adapter splits larger bodies
	maxReadyBytes   = 1 << 10
	maxErrorBytes   = 8 << 10
	maxPathBytes    = 4 << 10                         // PATH_MAX
	maxFrameBytes   = 6 + maxHeadBytes + maxDataBytes // the largest payload: a RESPONSE
)

// bodyChunk is the largest request body chunk nave reads for one
// RECEIVE, so the most it holds per request; preread is the largest body
// of a known length read whole before the request goes to the worker
// (unless the client waits for 100 Continue): small bodies cost no
// RECEIVE round trip.
const (
	bodyChunk = 64 << 10
	preread   = 64 << 10
)

// ProtocolError is a worker that broke the framing.
type ProtocolError struct{ Reason string }

func (e *ProtocolError) Error() string { return "asgi: worker protocol error: " + e.Reason }

func protocolErrorf(format string, args ...any) error {
	return &ProtocolError{fmt.Sprintf(format, args...)}
}

var errWorkerEOF = errors.New("asgi: worker closed its socket")

// frame is one decoded frame; payload aliases the reader's buffer until
// the next read.
type frame struct {
	typ     frameType
	id      uint32
	payload []byte
}

func payloadLimit(t frameType) int {
	switch t {
	case frameReady:
		return maxReadyBytes
	case frameStart:
		return 2 + maxHeadBytes
	case frameData, frameEnd:
		return maxDataBytes
	case frameResponse:
		return maxFrameBytes
	case frameError, frameFatal:
		return maxErrorBytes
	case frameReceive, frameHeartbeat:
		return 0
	case frameEarlyHint, frameTrailers:
		return maxHeadBytes
	case framePathsend:
		return maxPathBytes
	case frameWSAccept:
		return maxHeadBytes
	case frameWSPart, frameWSSendText, frameWSSendBytes:
		return maxDataBytes
	case frameWSClose:
		return 2 + maxErrorBytes
	case frameWSTaken:
		return 4
	case frameWSEnd:
		return 0
	}
	return -1
}

// parseFrame decodes the frame at the start of b (workers.ParseFrame,
// with this gateway's limits); n == 0 without an error means b does not
// hold all of it yet.
func parseFrame(b []byte) (f frame, n int, err error) {
	wf, n, err := workers.ParseFrame(b, typeLimit)
	return frame{typ: frameType(wf.Type), id: wf.ID, payload: wf.Payload}, n, asProtocolError(err)
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

// splitStart splits a START payload into status and headers.
func splitStart(p []byte) (status int, head []byte, err error) {
	if len(p) < 2 {
		return 0, nil, protocolErrorf("START frame of %d bytes", len(p))
	}
	return int(binary.LittleEndian.Uint16(p)), p[2:], nil
}

// splitResponse splits a RESPONSE payload into status, headers and body.
func splitResponse(p []byte) (status int, head, body []byte, err error) {
	if len(p) < 6 {
		return 0, nil, nil, protocolErrorf("RESPONSE frame of %d bytes", len(p))
	}
	n := binary.LittleEndian.Uint32(p[2:])
	if uint64(n) > maxHeadBytes || uint64(n) > uint64(len(p)-6) {
		return 0, nil, nil, protocolErrorf("RESPONSE head of %d bytes in %d", n, len(p))
	}
	if len(p)-6-int(n) > maxDataBytes {
		return 0, nil, nil, protocolErrorf("RESPONSE body of %d bytes", len(p)-6-int(n))
	}
	return int(binary.LittleEndian.Uint16(p)), p[6 : 6+n], p[6+n:], nil
}

// HeadError is a response head nave refuses to send: a status outside
// 200–999 (1xx are the server's), a header name that is not a token, a
// value with CR, LF or another control byte. The client gets a 500.
type HeadError struct{ Reason string }

func (e *HeadError) Error() string { return "asgi: invalid response head: " + e.Reason }

// addHead validates an app's status and "name\x00value\x00..." headers
// (RFC 9110 §5.5) and adds the fields to h. On error h may hold some of
// them: the caller truncates it.
func addHead(h *web.Header, status int, head []byte) error {
	if status < 200 || status > 999 {
		return &HeadError{fmt.Sprintf("status %d", status)}
	}
	return addFields(h, head)
}

// addFields validates "name\x00value\x00..." fields and adds them to h.
func addFields(h *web.Header, head []byte) error {
	n := 0
	for len(head) > 0 {
		name, rest, more := cut(head)
		if !more {
			return &HeadError{"header name without a value"}
		}
		value, rest, _ := cut(rest)
		head = rest
		if n++; n > maxHeaderFields {
			return &HeadError{"too many header fields"}
		}
		if !web.IsToken(name) {
			return &HeadError{"header name is not a token"}
		}
		if !web.ValidFieldValue(value) {
			return &HeadError{"CR, LF or a control byte in a header value"}
		}
		h.AddBytes(fieldName(name), web.TrimOWS(value))
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

// commonNames interns the lower-case names ASGI apps send most, so that
// relaying them allocates nothing. Read-only.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"content-type", "content-length", "set-cookie", "location", "cache-control", "expires",
		"last-modified", "etag", "vary", "content-encoding", "content-disposition", "date", "server",
		"x-frame-options", "x-content-type-options", "access-control-allow-origin", "allow",
	} {
		m[n] = n
	}
	return m
}()

func fieldName(name []byte) string {
	if s, ok := commonNames[string(name)]; ok {
		return s
	}
	return string(name)
}

// appendFrameHeader appends the header of a frame of n payload bytes.
func appendFrameHeader(b []byte, t frameType, id uint32, n int) []byte {
	return workers.AppendFrameHeader(b, uint8(t), id, n)
}

// appendRequest appends r's REQUEST frame with body, the first chunk of
// the request body (all of it unless more). path and root are the decoded
// path and mount. It allocates nothing once b has grown.
func appendRequest(b []byte, id uint32, r *web.Request, path, root, body []byte, more bool) []byte {
	start := len(b)
	b = appendFrameHeader(b, frameRequest, id, 0) // the length is patched below
	flags := byte(0)
	if more {
		flags = flagMoreBody
	}
	b = append(b, flags)
	lengths := len(b)
	b = append(b, make([]byte, 12)...) // the three lengths, patched below
	seg := len(b)
	b = append(b, r.Method...)
	b = append(b, 0)
	b = append(b, path...)
	b = append(b, 0)
	b = append(b, r.Path...)
	b = append(b, 0)
	b = append(b, r.Query...)
	binary.LittleEndian.PutUint32(b[lengths:], uint32(len(b)-seg))
	seg = len(b)
	b = appendConnection(b, r, root)
	binary.LittleEndian.PutUint32(b[lengths+4:], uint32(len(b)-seg))
	seg = len(b)
	b = appendHeaders(b, r)
	binary.LittleEndian.PutUint32(b[lengths+8:], uint32(len(b)-seg))
	b = append(b, body...)
	binary.LittleEndian.PutUint32(b[start:], uint32(len(b)-start-frameHeaderSize))
	return b
}

// appendConnection appends the connection's segment of a REQUEST or
// WS_CONNECT: scheme, http_version, root_path, client, server.
// The scheme and client are the ones trusted proxies name, as uvicorn's
// proxy headers give them (web.Request.ClientAddr): port 0 where they
// name none.
func appendConnection(b []byte, r *web.Request, root []byte) []byte {
	b = append(b, r.ClientScheme()...)
	b = append(b, 0)
	b = append(b, httpVersion(r.Proto)...)
	b = append(b, 0)
	b = append(b, root...)
	b = append(b, 0)
	if client := r.ClientAddr(); client.IsValid() {
		b = netAddrPort(b, client)
	}
	b = append(b, 0)
	if r.LocalAddr.IsValid() {
		b = netAddrPort(b, r.LocalAddr)
	}
	return b
}

// appendHeaders appends r's fields, "name\x00value\x00...", names
// lower-cased, repeats kept in order. On HTTP/2 the ASGI spec wants
// :authority first, as host, in place of any host field.
func appendHeaders(b []byte, r *web.Request) []byte {
	seg := len(b)
	authority := r.Proto == web.HTTP2 && len(r.Authority) > 0
	if authority {
		b = append(b, "host\x00"...)
		b = append(b, r.Authority...)
	}
	for i := range r.Header.Len() {
		name, value := r.Header.At(i)
		if authority && web.EqualFold(name, "host") {
			continue
		}
		if len(b) > seg {
			b = append(b, 0)
		}
		b = appendLower(b, name)
		b = append(b, 0)
		b = append(b, value...)
	}
	if id := r.ID(); id != nil && r.IDField != "" {
		// reqid took the client's field out of the header; the id goes
		// in its place.
		if len(b) > seg {
			b = append(b, 0)
		}
		b = appendLower(b, r.IDField)
		b = append(b, 0)
		b = append(b, id...)
	}
	return b
}

// appendLower appends a field name lower-cased, as ASGI wants names.
func appendLower[T string | []byte](b []byte, name T) []byte {
	for i := range len(name) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendBody appends a BODY frame, or BODY_END for the last chunk.
func appendBody(b []byte, id uint32, chunk []byte, end bool) []byte {
	t := frameBody
	if end {
		t = frameBodyEnd
	}
	b = appendFrameHeader(b, t, id, len(chunk))
	return append(b, chunk...)
}

// appendSent appends a SENT frame crediting n response bytes.
func appendSent(b []byte, id uint32, n int) []byte {
	b = appendFrameHeader(b, frameSent, id, 4)
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}

// netAddrPort appends "host:port", "[v6]:port" for IPv6; an IPv4-mapped
// address as IPv4.
func netAddrPort(b []byte, ap netip.AddrPort) []byte {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).AppendTo(b)
}

func httpVersion(p web.Proto) string {
	switch p {
	case web.HTTP10:
		return "1.0"
	case web.HTTP2:
		return "2"
	case web.HTTP3:
		return "3"
	}
	return "1.1"
}

// frameReader reads a worker's frames; one goroutine uses it.
type frameReader struct {
	conn io.Reader
	in   *workers.FrameBuffer
}

// readBufferSize is a frameReader's initial buffer; it grows to hold the
// largest frame it meets, up to maxFrameBytes.
const readBufferSize = 64 << 10

func newFrameReader(conn io.Reader) *frameReader {
	return &frameReader{conn: conn, in: workers.NewFrameBuffer(readBufferSize, maxFrameBytes, typeLimit)}
}

// next returns the next frame; its payload is valid until the next call.
func (fr *frameReader) next() (frame, error) {
	for {
		f, ok, err := fr.in.Next()
		if err != nil {
			return frame{}, asProtocolError(err)
		}
		if ok {
			return frame{typ: frameType(f.Type), id: f.ID, payload: f.Payload}, nil
		}
		n, err := fr.conn.Read(fr.in.Space())
		fr.in.Filled(n)
		if n > 0 {
			continue
		}
		if err == nil {
			err = errWorkerEOF
		}
		return frame{}, err
	}
}

package http1

import (
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"nave/internal/web"
)

// Response buffer geometry. Body bytes are buffered from headroom on; the
// head (and a chunk-size line) is rendered into the headroom just before
// them, so that a small response leaves in one write.
const (
	responseBufferSize = 8 << 10
	headroom           = 1 << 10
	tailroom           = 7 // "\r\n" after chunk data, then "0\r\n\r\n"
)

// Writer frames one response on an HTTP/1 connection (RFC 9112 §6, §7),
// beneath a web.ResponseWriter: the status line, Date and Server, then
// Content-Length when the body's length is known, otherwise chunked on
// HTTP/1.1 and close-delimited on HTTP/1.0. It implements web.Stream.
//
// Its zero value is not usable; the server Resets it for each request.
type Writer struct {
	dst     io.Writer
	req     *Request
	w       *web.ResponseWriter // its status tells whether 100 Continue is still due
	buf     []byte              // headroom, then the body buffer, then tailroom
	head    []byte              // scratch for heads and chunk lines
	lr      io.LimitedReader
	trailer *web.Header // the handler's trailer fields, sent after a chunked body
	err     error       // sticky write error
	dateSec int64
	date    []byte // http-date of dateSec
	// closeWhen, when set, is read as the head is rendered: true then
	// closes the connection after this response (a server shutting down).
	closeWhen *atomic.Bool

	committed bool // the head is on the wire
	chunked   bool
	close     bool      // close the connection after this response
	more      bool      // output uses WriteMore: a body follows at once (ReadFrom)
	pair      [2][]byte // outputBoth's buffers, kept here so they do not escape per call
	// watch, set by the server, starts watching the connection for the
	// client's close (Gone); nil where it cannot.
	watch func() <-chan struct{}
	drain <-chan struct{} // Draining's
	// trace, when set, is given each head as rendered, interim ones too
	// (the server's --trace); nil costs a nil check.
	trace func(head []byte)
}

// Reset prepares s to frame the response to r, written through w, over
// dst. closeWhen may be nil.
func (s *Writer) Reset(dst io.Writer, r *Request, w *web.ResponseWriter, closeWhen *atomic.Bool) {
	if s.buf == nil {
		s.buf = make([]byte, responseBufferSize)
	}
	s.dst, s.req, s.w, s.closeWhen, s.err, s.trailer = dst, r, w, closeWhen, nil, nil
	s.committed, s.chunked, s.close, s.more = false, false, r.Close, false
	if r.ExpectContinue {
		r.Body.rw = s
	}
}

// SetTrace has f called with each response head's bytes as they are
// about to be written; nil: none. It stays set across Resets.
func (s *Writer) SetTrace(f func(head []byte)) { s.trace = f }

// Closing reports whether the connection will close after this response.
func (s *Writer) Closing() bool { return s.close }

// SetClose makes the connection close after this response.
func (s *Writer) SetClose() { s.close = true }

// Committed reports whether the head has been sent.
func (s *Writer) Committed() bool { return s.committed }

// Buffer is the body buffer, between the head's room and the chunk
// framing's.
func (s *Writer) Buffer() []byte { return s.buf[headroom : len(s.buf)-tailroom] }

// Abort closes the connection after the handler returns, so that the
// client sees the response is incomplete.
func (s *Writer) Abort() { s.close = true }

// SetWatch gives the function that starts watching the connection for
// the client's close, for Gone; nil: no watching. The server sets it.
func (s *Writer) SetWatch(f func() <-chan struct{}) { s.watch = f }

// Gone implements web.Stream: once the request body has been read to its
// end, the server watches the connection for the client's close.
func (s *Writer) Gone() <-chan struct{} {
	if s.watch == nil || !s.req.Body.Done() {
		return nil
	}
	return s.watch()
}

// SetDraining gives the channel Draining returns: closed when the server
// begins a graceful stop. The server sets it.
func (s *Writer) SetDraining(ch <-chan struct{}) { s.drain = ch }

// Draining implements web.Stream.
func (s *Writer) Draining() <-chan struct{} { return s.drain }

// Detach does nothing: an HTTP/1 handler has its connection's goroutine
// to itself.
func (s *Writer) Detach() {}

// Interim sends a 1xx response with h's fields, to HTTP/1.1 clients only
// (RFC 9110 §15.2), and only before the final head.
func (s *Writer) Interim(status int, h *web.Header) error {
	if s.req.ProtoMinor == 0 || s.committed || s.err != nil {
		return nil
	}
	b := appendStatusLine(s.head[:0], status, "")
	b = appendFields(b, h, false)
	s.head = append(b, '\r', '\n')
	if s.trace != nil {
		s.trace(s.head)
	}
	s.output(s.head)
	return s.err
}

// writeContinue answers Expect: 100-continue (RFC 9110 §10.1.1), unless a
// final response has started.
func (s *Writer) writeContinue() error {
	if s.committed || s.w.Status() != 0 {
		return nil
	}
	// head is free scratch until the head is rendered; a []byte conversion
	// here would allocate.
	s.head = append(s.head[:0], "HTTP/1.1 100 Continue\r\n\r\n"...)
	if s.trace != nil {
		s.trace(s.head)
	}
	s.output(s.head)
	return s.err
}

// Flush sends the head (when h is not nil), n buffered body bytes and
// tail, as one chunk when chunked, and the last chunk when end.
func (s *Writer) Flush(h *web.Head, n int, tail []byte, end bool) error {
	if s.err != nil {
		return s.err
	}
	prefix := s.head[:0]
	if h != nil {
		prefix = s.appendHead(prefix, h)
		if s.trace != nil {
			s.trace(prefix)
		}
	}
	if end && s.close && !s.more {
		// The response's last bytes, on a connection that closes after
		// them: flagged "more follows", they wait for the close, whose
		// FIN then leaves with them in one packet, as nginx's tcp_nopush
		// sends them (on loopback a packet of its own costs the sender
		// the receiver's softirq work and a wake-up).
		s.more = true
		defer func() { s.more = false }()
	}
	data := n + len(tail)
	start, stop := headroom, headroom+n
	trailers := end && s.chunked && s.trailer != nil && s.trailer.Len() > 0
	if s.chunked {
		if data > 0 {
			prefix = strconv.AppendInt(prefix, int64(data), 16)
			prefix = append(prefix, '\r', '\n')
		}
		if len(tail) == 0 {
			stop += len(appendChunkEnd(s.buf[stop:stop], data > 0, end && !trailers))
		}
	}
	s.head = prefix
	if len(prefix) <= headroom {
		start -= copy(s.buf[headroom-len(prefix):], prefix)
	} else {
		s.output(prefix)
	}
	if len(tail) > 0 && !s.chunked && !s.more {
		// A large body of known length (an app's 50 KiB answer): with
		// the head, in one system call and one packet where the
		// destination gathers writes.
		if bw, ok := s.dst.(BuffersWriter); ok {
			s.outputBoth(bw, s.buf[start:stop], tail)
			return s.err
		}
	}
	s.output(s.buf[start:stop])
	if len(tail) > 0 {
		s.output(tail)
		if s.chunked {
			s.head = appendChunkEnd(s.head[:0], true, end && !trailers)
			s.output(s.head)
		}
	}
	if trailers {
		// RFC 9112 §7.1.2: the last chunk, then the trailer section.
		b := append(s.head[:0], "0\r\n"...)
		b = appendFields(b, s.trailer, true)
		s.head = append(b, '\r', '\n')
		s.output(s.head)
	}
	return s.err
}

// appendChunkEnd appends the CRLF that ends chunk data (when data) and the
// last chunk (when end).
func appendChunkEnd(b []byte, data, end bool) []byte {
	if data {
		b = append(b, '\r', '\n')
	}
	if end {
		b = append(b, "0\r\n\r\n"...)
	}
	return b
}

// MoreWriter is implemented by a destination that can write bytes with
// the hint that more follow at once (MSG_MORE on Linux, what nginx's
// tcp_nopush does with TCP_CORK). ReadFrom writes the head that way before
// handing a file body to the destination's ReadFrom, so that the head
// does not leave as a packet of its own: on loopback, with 1 MiB files
// and 64 connections, a lone head packet moved the sending into the
// client's softirq time and halved the requests per second.
type MoreWriter interface {
	WriteMore(p []byte) (int, error)
}

// ReadFrom sends the head (when h is not nil) and n buffered bytes, then
// size bytes of r: through the destination's ReadFrom when it has one (a
// TCP connection, which uses sendfile for files), with the head written
// through WriteMore if the destination is a MoreWriter.
func (s *Writer) ReadFrom(h *web.Head, n int, r io.Reader, size int64) (int64, error) {
	// The head (and anything buffered) goes out flagged "more follows"
	// when the body surely does, so that it shares the body's first
	// packet; with nothing to follow, the flag would hold it back.
	s.more = size > 0
	err := s.Flush(h, n, nil, false)
	s.more = false
	if err != nil {
		return 0, err
	}
	s.lr = io.LimitedReader{R: r, N: size}
	var copied int64
	if rf, ok := s.dst.(io.ReaderFrom); ok {
		copied, err = rf.ReadFrom(&s.lr)
	} else {
		copied, err = io.Copy(s.dst, &s.lr)
	}
	s.lr.R = nil
	if err != nil {
		s.err = err
		s.close = true
	}
	return copied, err
}

// appendHead renders the status line and header fields and fixes the
// framing.
func (s *Writer) appendHead(b []byte, h *web.Head) []byte {
	s.committed = true
	s.trailer = h.Trailer
	switch {
	case h.Bodiless, h.Length >= 0:
	case s.req.ProtoMinor >= 1:
		s.chunked = true
	default:
		s.close = true // HTTP/1.0: the close ends the body
	}
	if h.Close || s.closeWhen != nil && s.closeWhen.Load() {
		s.close = true
	}
	if body := &s.req.Body; body.err != nil || s.req.ExpectContinue && !body.Done() {
		// A failed body leaves the framing unknown, and a body the client
		// was never asked for may or may not follow: the server closes
		// the connection then, so announce it.
		s.close = true
	}
	for v := range h.Header.Values("Connection") {
		if web.HasToken(v, "close") {
			s.close = true
		}
	}
	b = appendStatusLine(b, h.Status, h.Reason)
	b = s.appendDateServer(b, h.Header)
	b = appendFields(b, h.Header, true)
	if h.Length >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, h.Length, 10)
		b = append(b, '\r', '\n')
	}
	if s.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	switch {
	case s.close:
		b = append(b, "Connection: close\r\n"...)
	case s.req.ProtoMinor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	return append(b, '\r', '\n')
}

// appendDateServer appends Date (the request's arrival) and Server,
// unless the handler set its own.
func (s *Writer) appendDateServer(b []byte, h *web.Header) []byte {
	if !h.Has("Date") {
		b = append(b, "Date: "...)
		b = append(b, s.httpDate(s.req.Start)...)
		b = append(b, '\r', '\n')
	}
	if !h.Has("Server") {
		b = append(b, "Server: "+web.ServerName+"\r\n"...)
	}
	return b
}

// appendFields appends h's fields as "Name: value\r\n", without the
// framing fields, which are the Writer's, when final.
func appendFields(b []byte, h *web.Header, final bool) []byte {
	for i := range h.Len() {
		name, value := h.At(i)
		if final && (equalFold(name, "Content-Length") || equalFold(name, "Transfer-Encoding") || equalFold(name, "Connection")) {
			continue
		}
		b = append(b, name...)
		b = append(b, ':', ' ')
		b = append(b, value...)
		b = append(b, '\r', '\n')
	}
	return b
}

// appendStatusLine appends "HTTP/1.1 code reason\r\n". nave answers every
// 1.x request as HTTP/1.1 (RFC 9110 §6.2). An empty reason is the
// standard phrase.
func appendStatusLine(b []byte, code int, reason string) []byte {
	if code == 200 && reason == "" {
		return append(b, "HTTP/1.1 200 OK\r\n"...)
	}
	if reason == "" {
		reason = web.StatusText(code)
	}
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	return append(b, '\r', '\n')
}

// httpDate formats t as an IMF-fixdate (RFC 9110 §5.6.7), reformatting
// only when the second changes.
func (s *Writer) httpDate(t time.Time) []byte {
	if sec := t.Unix(); sec != s.dateSec || s.date == nil {
		s.dateSec = sec
		s.date = t.UTC().AppendFormat(s.date[:0], "Mon, 02 Jan 2006 15:04:05 GMT")
	}
	return s.date
}

// BuffersWriter is implemented by a destination that writes several
// buffers with one system call (writev). A head followed by a large body
// written apart costs a second call and leaves as a packet of its own,
// whose delivery and acknowledgement on loopback cost the client and the
// server each a wake-up.
type BuffersWriter interface {
	WriteBuffers(bufs [][]byte) (int64, error)
}

// outputBoth writes a and b to the client through bw, unless an earlier
// write failed.
func (s *Writer) outputBoth(bw BuffersWriter, a, b []byte) {
	if s.err != nil {
		return
	}
	s.pair[0], s.pair[1] = a, b
	_, err := bw.WriteBuffers(s.pair[:])
	s.pair[0], s.pair[1] = nil, nil
	if err != nil {
		s.err = err
		s.close = true
	}
}

// output writes p to the client, unless an earlier write failed.
func (s *Writer) output(p []byte) {
	if s.err != nil || len(p) == 0 {
		return
	}
	if err := s.write(p); err != nil {
		s.err = err
		s.close = true
	}
}

// write sends p to dst, through WriteMore when s.more asks for it and dst
// is a MoreWriter.
func (s *Writer) write(p []byte) error {
	if s.more {
		if mw, ok := s.dst.(MoreWriter); ok {
			_, err := mw.WriteMore(p)
			return err
		}
	}
	_, err := s.dst.Write(p)
	return err
}

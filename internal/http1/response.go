package http1

import (
	"errors"
	"io"
	"strconv"
	"sync/atomic"
	"time"
)

// Response buffer geometry. Body bytes are buffered from headroom on; the
// head (and a chunk-size line) is rendered into the headroom just before
// them, so that a small response leaves in one write.
const (
	responseBufferSize = 8 << 10
	headroom           = 1 << 10
	tailroom           = 7 // "\r\n" after chunk data, then "0\r\n\r\n"
)

// ServerName is the Server field nave sends unless a handler sets one.
const ServerName = "nave"

// ResponseWriter frames a Handler's response (RFC 9112 §6, §7): status
// line, Date and Server, then Content-Length when the whole body is known
// (it fits the buffer, or the handler declared it), otherwise chunked on
// HTTP/1.1 and close-delimited on HTTP/1.0. HEAD, 1xx, 204 and 304
// responses carry no body.
//
// Its zero value is not usable; the server Resets it for each request.
type ResponseWriter struct {
	dst      io.Writer
	req      *Request
	header   Header
	status   int // 0 until WriteHeader
	buf      []byte
	n        int   // buffered body bytes are buf[headroom:n]
	written  int64 // body bytes accepted from the handler
	declared int64 // Content-Length the handler set, or -1
	sent     int64 // body bytes put on the wire
	head     []byte
	lr       io.LimitedReader
	err      error // sticky write error
	now      time.Time
	dateSec  int64
	date     []byte // http-date of dateSec
	// closeWhen, when set, is read as the head is rendered: true then
	// closes the connection after this response. Set by CloseWhen.
	closeWhen *atomic.Bool

	committed bool // the head is on the wire
	chunked   bool
	close     bool // close the connection after this response
	discard   bool // body bytes are counted, not sent: HEAD
	more      bool // output uses WriteMore: a body follows at once (ReadFrom)
}

// Reset prepares w to answer r over dst. now is the request's arrival, used
// for the Date field.
func (w *ResponseWriter) Reset(dst io.Writer, r *Request, now time.Time) {
	w.header.Reset()
	if w.buf == nil {
		w.buf = make([]byte, responseBufferSize)
	}
	w.dst, w.req, w.now = dst, r, now
	w.status, w.n, w.written, w.declared, w.sent, w.err = 0, headroom, 0, -1, 0, nil
	w.committed, w.chunked, w.close = false, false, r.Close
	w.closeWhen = nil
	w.discard = string(r.Method) == "HEAD"
	if r.ExpectContinue {
		r.Body.rw = w
	}
}

// Header is the response header, to be set before WriteHeader or the first
// Write. nave owns the framing fields: Transfer-Encoding set here is
// ignored, and Content-Length is taken as the handler's promise of the
// body's length.
func (w *ResponseWriter) Header() *Header { return &w.header }

// SetClose makes the connection close after this response.
func (w *ResponseWriter) SetClose() { w.close = true }

// CloseWhen makes the connection close after this response if flag is
// true when the head is sent, so that a server which starts shutting down
// while a handler runs still announces the close (RFC 9112 §9.6). Reset
// forgets flag.
func (w *ResponseWriter) CloseWhen(flag *atomic.Bool) { w.closeWhen = flag }

// Abort gives up on the response: nothing more is sent, not even the end
// of a chunked body, and the connection closes once the handler returns,
// so that the client can tell the response is incomplete. A gateway calls
// it when its upstream fails after the head went out. Later writes return
// ErrAborted.
func (w *ResponseWriter) Abort() {
	w.close = true
	if w.err == nil {
		w.err = ErrAborted
	}
}

// Closing reports whether the connection will close after this response.
func (w *ResponseWriter) Closing() bool { return w.close }

// Status is the status written so far, 0 before WriteHeader.
func (w *ResponseWriter) Status() int { return w.status }

// Committed reports whether the head has been sent.
func (w *ResponseWriter) Committed() bool { return w.committed }

// Now is when the request began, as Reset was given it: the time of its
// Date field, and a clock reading a handler can use instead of its own.
func (w *ResponseWriter) Now() time.Time { return w.now }

// BodyBytes is the number of body bytes sent to the client.
func (w *ResponseWriter) BodyBytes() int64 { return w.sent }

// WriteHeader sets the status. A 1xx status other than 101 is sent at once
// as an interim response (to HTTP/1.1 clients only, RFC 9110 §15.2) and a
// final status may follow; otherwise only the first call counts. It panics
// on a code outside 100–999.
func (w *ResponseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 || code == 101 {
		panic("http1: invalid response status " + strconv.Itoa(code))
	}
	if w.status != 0 {
		return
	}
	if code < 200 {
		w.writeInterim(code)
		return
	}
	w.status = code
	if !bodyAllowed(code) {
		w.discard = true
	}
	if cl := w.header.Get("Content-Length"); cl != nil {
		if n, ok := parseDecimal(cl); ok {
			w.declared = n
		}
	}
}

// writeInterim sends a 1xx response with the current header.
func (w *ResponseWriter) writeInterim(code int) {
	if w.req.ProtoMinor == 0 || w.committed || w.err != nil {
		return
	}
	b := appendStatusLine(w.head[:0], code)
	b = w.header.appendWire(b)
	w.head = append(b, '\r', '\n')
	w.output(w.head)
}

// writeContinue answers Expect: 100-continue (RFC 9110 §10.1.1), unless a
// final response has started.
func (w *ResponseWriter) writeContinue() error {
	if w.committed || w.status != 0 {
		return nil
	}
	// head is free scratch until the head is rendered; a []byte conversion
	// here would allocate.
	w.head = append(w.head[:0], "HTTP/1.1 100 Continue\r\n\r\n"...)
	w.output(w.head)
	return w.err
}

// Write buffers or sends body bytes. It writes the header first if needed.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(200)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !bodyAllowed(w.status) {
		return 0, ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		n, _ := w.Write(p[:w.declared-w.written])
		return n, ErrContentLengthExceeded
	}
	w.written += int64(len(p))
	if w.discard {
		return len(p), nil
	}
	total := len(p)
	for len(p) > 0 {
		if w.n == headroom && len(p) >= w.capacity() && w.declared >= 0 {
			// Large writes with a known length skip the buffer.
			w.flush(false)
			if w.output(p) {
				w.sent += int64(len(p))
			}
			break
		}
		c := copy(w.buf[w.n:len(w.buf)-tailroom], p)
		w.n += c
		p = p[c:]
		if len(p) > 0 {
			w.flush(false)
		}
		if w.err != nil {
			// flush no longer empties the buffer: stop, or spin forever.
			break
		}
	}
	if w.err != nil {
		return total - len(p), w.err
	}
	return total, nil
}

// WriteString is Write for a string.
func (w *ResponseWriter) WriteString(s string) (int, error) {
	if w.status == 0 {
		w.WriteHeader(200)
	}
	if w.n+len(s) <= len(w.buf)-tailroom && !w.discard && w.err == nil && bodyAllowed(w.status) &&
		(w.declared < 0 || w.written+int64(len(s)) <= w.declared) {
		// The common small write, without converting s (which allocates).
		w.n += copy(w.buf[w.n:], s)
		w.written += int64(len(s))
		return len(s), nil
	}
	return w.Write([]byte(s))
}

func (w *ResponseWriter) capacity() int { return len(w.buf) - headroom - tailroom }

// Flush sends the head and any buffered body bytes now.
func (w *ResponseWriter) Flush() error {
	if w.status == 0 {
		w.WriteHeader(200)
	}
	w.flush(false)
	return w.err
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

// ReadFrom copies r to the body. With a declared Content-Length and a
// destination that implements io.ReaderFrom (a TCP connection), the copy
// goes through it, which uses sendfile for files; the head goes before it
// through WriteMore if the destination is a MoreWriter.
func (w *ResponseWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.WriteHeader(200)
	}
	rf, ok := w.dst.(io.ReaderFrom)
	if !ok || w.discard || w.declared < 0 || w.err != nil {
		return w.copyThrough(r)
	}
	// The head (and anything buffered) goes out flagged "more follows"
	// when the body surely does, so that it shares the body's first
	// packet; with nothing to follow, the flag would hold it back.
	w.more = w.declared > w.written
	w.flush(false)
	w.more = false
	if w.err != nil {
		return 0, w.err
	}
	w.lr = io.LimitedReader{R: r, N: w.declared - w.written}
	n, err := rf.ReadFrom(&w.lr)
	w.lr.R = nil
	w.written += n
	w.sent += n
	if err != nil {
		w.err = err
	}
	return n, err
}

// copyThrough copies r into the body through the buffer.
func (w *ResponseWriter) copyThrough(r io.Reader) (int64, error) {
	var total int64
	for {
		if w.n == len(w.buf)-tailroom {
			w.flush(false)
		}
		if w.err != nil {
			return total, w.err
		}
		space := w.buf[w.n : len(w.buf)-tailroom]
		n, err := r.Read(space)
		if n > 0 {
			m, werr := w.writeBuffered(n)
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// writeBuffered accounts for n body bytes read directly into buf[w.n:].
// Like Write, it keeps what fits the declared length and reports the rest
// as ErrContentLengthExceeded, which is not sticky: the response can still
// be finished.
func (w *ResponseWriter) writeBuffered(n int) (int, error) {
	if !bodyAllowed(w.status) {
		return 0, ErrBodyNotAllowed
	}
	var err error
	if w.declared >= 0 && w.written+int64(n) > w.declared {
		n = int(w.declared - w.written)
		err = ErrContentLengthExceeded
	}
	w.written += int64(n)
	if !w.discard {
		w.n += n
	}
	return n, err
}

// Finish completes the response after the handler returned: it writes the
// head if nothing was sent (with the buffered body's length), the rest of
// the body, and the last chunk. A body shorter than its declared length
// makes the connection close, since the client cannot tell it ended.
func (w *ResponseWriter) Finish() error {
	if w.status == 0 {
		w.WriteHeader(200)
	}
	w.flush(true)
	if w.declared >= 0 && w.written < w.declared && !w.discard {
		w.close = true
		if w.err == nil {
			return errShortBody
		}
	}
	return w.err
}

var errShortBody = errors.New("http1: handler wrote less than its Content-Length")

// flush sends the head if not yet sent, then the buffered body bytes framed
// as chunks when chunked, and the last chunk when final.
func (w *ResponseWriter) flush(final bool) {
	if w.err != nil {
		return
	}
	prefix := w.head[:0]
	if !w.committed {
		prefix = w.appendHead(prefix, final)
	}
	data := w.n - headroom
	end := w.n
	if w.chunked {
		if data > 0 {
			prefix = strconv.AppendInt(prefix, int64(data), 16)
			prefix = append(prefix, '\r', '\n')
			end += copy(w.buf[end:], "\r\n")
		}
		if final {
			end += copy(w.buf[end:], "0\r\n\r\n")
		}
	}
	w.head = prefix
	start := headroom
	if len(prefix) <= headroom {
		start -= copy(w.buf[headroom-len(prefix):], prefix)
	} else {
		w.output(prefix)
	}
	if w.output(w.buf[start:end]) {
		w.sent += int64(data)
	}
	w.n = headroom
}

// appendHead renders the status line and header fields and fixes the
// framing. final means the whole body is in the buffer.
func (w *ResponseWriter) appendHead(b []byte, final bool) []byte {
	w.committed = true
	h := &w.header
	length := w.declared
	switch {
	case !bodyAllowed(w.status):
		if w.status != 304 {
			length = -1 // RFC 9110 §8.6: never on 1xx and 204
		}
	case length < 0 && final:
		length = w.written
		if w.discard && w.written == 0 {
			length = -1 // HEAD whose handler wrote nothing: length unknown
		}
	case length < 0 && !w.discard && w.req.ProtoMinor >= 1:
		w.chunked = true
	case length < 0 && !w.discard:
		w.close = true // HTTP/1.0: the close ends the body
	}
	if w.closeWhen != nil && w.closeWhen.Load() {
		w.close = true
	}
	if body := &w.req.Body; body.err != nil || w.req.ExpectContinue && !body.Done() {
		// A failed body leaves the framing unknown, and a body the client
		// was never asked for may or may not follow: the server closes
		// the connection then, so announce it.
		w.close = true
	}
	for v := range h.Values("Connection") {
		if hasToken(v, "close") {
			w.close = true
		}
	}
	b = appendStatusLine(b, w.status)
	if !h.Has("Date") {
		b = append(b, "Date: "...)
		b = append(b, w.httpDate()...)
		b = append(b, '\r', '\n')
	}
	if !h.Has("Server") {
		b = append(b, "Server: "+ServerName+"\r\n"...)
	}
	for i := range h.fields {
		name, value := h.At(i)
		if equalFold(name, "Content-Length") || equalFold(name, "Transfer-Encoding") || equalFold(name, "Connection") {
			continue
		}
		b = append(b, name...)
		b = append(b, ':', ' ')
		b = append(b, value...)
		b = append(b, '\r', '\n')
	}
	if length >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, length, 10)
		b = append(b, '\r', '\n')
	}
	if w.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	switch {
	case w.close:
		b = append(b, "Connection: close\r\n"...)
	case w.req.ProtoMinor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	return append(b, '\r', '\n')
}

func hasToken(list []byte, token string) bool {
	for item, rest, ok := nextListItem(list); ok; item, rest, ok = nextListItem(rest) {
		if equalFold(item, token) {
			return true
		}
	}
	return false
}

// httpDate formats w.now as an IMF-fixdate (RFC 9110 §5.6.7), reformatting
// only when the second changes.
func (w *ResponseWriter) httpDate() []byte {
	if sec := w.now.Unix(); sec != w.dateSec || w.date == nil {
		w.dateSec = sec
		w.date = w.now.UTC().AppendFormat(w.date[:0], "Mon, 02 Jan 2006 15:04:05 GMT")
	}
	return w.date
}

// output writes p to the client and reports whether all of it went out.
func (w *ResponseWriter) output(p []byte) bool {
	if w.err != nil {
		return false
	}
	if len(p) == 0 {
		return true
	}
	if err := w.write(p); err != nil {
		w.err = err
		w.close = true
		return false
	}
	return true
}

// write sends p to dst, through WriteMore when w.more asks for it and dst
// is a MoreWriter.
func (w *ResponseWriter) write(p []byte) error {
	if w.more {
		if mw, ok := w.dst.(MoreWriter); ok {
			_, err := mw.WriteMore(p)
			return err
		}
	}
	_, err := w.dst.Write(p)
	return err
}

package web

import (
	"io"
	"strconv"
	"time"
)

// ResponseWriter is what a Handler writes its response to, whatever the
// protocol. It holds the rules every protocol shares: an implicit 200,
// interim 1xx responses, no body for HEAD, 1xx, 204 and 304, a declared
// Content-Length as the handler's promise (writes past it fail, a body
// short of it aborts the exchange), and a buffer so that a small response
// is sent whole with its length. The Stream beneath it does the framing.
//
// Its zero value is not usable; an Exchange begins it for each request.
type ResponseWriter struct {
	s        Stream
	req      *Request
	header   Header
	trailer  Header
	head     Head
	status   int    // 0 until WriteHeader
	reason   string // the handler's reason phrase, or ""
	buf      []byte // s.Buffer(): buffered body bytes are buf[:n]
	n        int
	written  int64 // body bytes accepted from the handler
	declared int64 // Content-Length the handler set, or -1
	sent     int64 // body bytes handed to the stream
	err      error // sticky: a failed write or an abort

	onHead func(h *Header) // called once, as the head is about to be sent; or nil

	committed bool // the head has gone to the stream
	upgraded  bool // the connection was handed over by Upgrade
	close     bool // the handler asked to close the connection
	discard   bool // body bytes are counted, not sent: HEAD, or a bodiless status
	relayed   bool // the answer came from another process (Relayed)
}

// Header is the response header, to be set before WriteHeader or the first
// Write. The protocol owns the framing fields: Transfer-Encoding and
// Connection set here are not sent as such, and Content-Length is taken as
// the handler's promise of the body's length.
func (w *ResponseWriter) Header() *Header { return &w.header }

// Trailer holds fields to send after the body (RFC 9110 §6.5), set
// before the handler returns: on HTTP/2 always, on HTTP/1.1 when the body
// went chunked (its length was not known when the head went out);
// otherwise they are dropped. Framing fields are never sent in it.
func (w *ResponseWriter) Trailer() *Header { return &w.trailer }

// OnHead has f called with the response header once, as the head is about
// to be sent, after the handler set its fields: a router's rules that set
// or remove fields whatever the handler wrote. f must not touch framing
// fields (Content-Length, Transfer-Encoding, Connection). One at a time: a
// later call replaces an earlier one; each exchange starts with none. f is
// typically a method value made once, so that setting it allocates nothing.
func (w *ResponseWriter) OnHead(f func(h *Header)) { w.onHead = f }

// SetClose asks for the connection to close after this response (on
// HTTP/1.1; HTTP/2 connections carry other streams and are kept).
func (w *ResponseWriter) SetClose() { w.close = true }

// Relayed tells the protocol that the handler relayed the answer of a
// process that answers many requests in batches (an app's worker), which
// the handler waited for. HTTP/1.1 then lets the other connections run
// before it reads this one's next request, which the client sends only
// once it has this response: the read then usually finds it, rather than
// nothing and a wait in the poller. A handler that answers inline, or
// whose answers come one by one and at once (the reverse proxy's, from a
// fast upstream), must not say so: connections that always yield and find
// their next request keep Go's scheduler from polling the network, and
// connections waiting there starve.
func (w *ResponseWriter) Relayed() { w.relayed = true }

// SetReason sets the reason phrase sent with the status on HTTP/1.1, as a
// gateway relays its app's ("299 Custom"). It must hold no CR, LF or
// other control byte; an invalid phrase is ignored.
func (w *ResponseWriter) SetReason(reason string) {
	if ValidFieldValue(reason) {
		w.reason = reason
	}
}

// Abort gives up on the response: nothing more is sent, not even the end
// of the body, so that the client can tell the response is incomplete (on
// HTTP/1.1 the connection closes). A gateway calls it when its upstream
// fails after the head went out. Later writes return ErrAborted.
func (w *ResponseWriter) Abort() {
	if w.err == nil {
		w.err = ErrAborted
	}
	w.s.Abort()
}

// Upgrade switches protocols (RFC 9110 §7.8): it sends 101 with the
// header set so far (Upgrade and Connection: upgrade, say, for a
// WebSocket) and returns the connection as a byte stream, which is the
// handler's until it returns; nothing else may be written to w. It fails
// once anything was sent, and on protocols or clients that cannot upgrade
// (HTTP/1.0).
func (w *ResponseWriter) Upgrade() (io.ReadWriteCloser, error) {
	if w.committed || w.status != 0 || w.err != nil || w.n != 0 {
		return nil, ErrUpgrade
	}
	w.status, w.committed, w.discard = 101, true, true
	if w.onHead != nil {
		w.onHead(&w.header)
	}
	w.addID()
	w.head = Head{Status: 101, Reason: w.reason, Header: &w.header, Length: -1, Bodiless: true}
	rw, err := w.s.Upgrade(&w.head)
	if err != nil {
		w.err = err
		return nil, err
	}
	w.upgraded = true
	return rw, nil
}

// Detach says that the handler is about to wait on something other than
// this exchange: a worker process, an upstream, a lock. A handler that
// does so should call it first (it is cheap, and a no-op on HTTP/1): an
// HTTP/2 connection runs a request's handler on the goroutine that reads
// the connection, and until Detach its other streams wait. Waiting on the
// request body or on the client reading the response needs no Detach.
func (w *ResponseWriter) Detach() { w.s.Detach() }

// Gone returns a channel closed when the client goes away while the
// handler runs, for a gateway whose upstream should hear of it (ASGI's
// http.disconnect); nil when the protocol cannot tell (see Stream.Gone:
// HTTP/1 watches only once the request body has been read to its end, so
// ask after that). It costs a goroutine on HTTP/1: ask only to wait on it.
func (w *ResponseWriter) Gone() <-chan struct{} { return w.s.Gone() }

// Draining returns a channel closed when the server begins a graceful
// stop (web.Stream's Draining), or nil.
func (w *ResponseWriter) Draining() <-chan struct{} { return w.s.Draining() }

// Status is the status written so far, 0 before WriteHeader.
func (w *ResponseWriter) Status() int { return w.status }

// Committed reports whether the head has been sent.
func (w *ResponseWriter) Committed() bool { return w.committed }

// Now is when the request began: the time of the Date field, and a clock
// reading a handler can use instead of its own.
func (w *ResponseWriter) Now() time.Time { return w.req.Start }

// BodyBytes is the number of body bytes sent to the client.
func (w *ResponseWriter) BodyBytes() int64 { return w.sent }

// WriteHeader sets the status. A 1xx status other than 101 is sent at once
// as an interim response (where the protocol allows one) and a final
// status may follow; otherwise only the first call counts. It panics on a
// code outside 100–999.
func (w *ResponseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 || code == 101 {
		panic("web: invalid response status " + strconv.Itoa(code))
	}
	if w.status != 0 {
		return
	}
	if code < 200 {
		if !w.committed && w.err == nil {
			if err := w.s.Interim(code, &w.header); err != nil {
				w.err = err
			}
		}
		return
	}
	w.status = code
	if !BodyAllowed(code) {
		w.discard = true
	}
	if cl := w.header.Get("Content-Length"); cl != nil {
		if n, ok := ParseLength(cl); ok {
			w.declared = n
		}
	}
}

// Write buffers or sends body bytes. It writes the header first if needed.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(200)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !BodyAllowed(w.status) {
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
	for len(p) > 0 && w.err == nil {
		if w.n == 0 && len(p) >= len(w.buf) && w.declared >= 0 {
			// A large write of a known length skips the buffer.
			w.flush(p, false)
			break
		}
		c := copy(w.buf[w.n:], p)
		w.n += c
		p = p[c:]
		if len(p) > 0 {
			w.flush(nil, false)
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
	if w.n+len(s) <= len(w.buf) && !w.discard && w.err == nil && BodyAllowed(w.status) &&
		(w.declared < 0 || w.written+int64(len(s)) <= w.declared) {
		// The common small write, without converting s (which allocates).
		w.n += copy(w.buf[w.n:], s)
		w.written += int64(len(s))
		return len(s), nil
	}
	return w.Write([]byte(s))
}

// Flush sends the head and any buffered body bytes now.
func (w *ResponseWriter) Flush() error {
	if w.status == 0 {
		w.WriteHeader(200)
	}
	w.flush(nil, false)
	return w.err
}

// ReadFrom copies r to the body. With a declared Content-Length it copies
// the bytes still due and stops there, and the Stream sends them without a
// copy where it can (sendfile for a file).
func (w *ResponseWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.WriteHeader(200)
	}
	if w.discard || w.declared < 0 || w.err != nil {
		return w.copyThrough(r)
	}
	size := w.declared - w.written
	n, err := w.s.ReadFrom(w.nextHead(false), w.n, r, size)
	w.sent += int64(w.n) + n
	w.n = 0
	w.written += n
	if err != nil {
		w.err = err
	}
	return n, err
}

// copyThrough copies r into the body through the buffer.
func (w *ResponseWriter) copyThrough(r io.Reader) (int64, error) {
	var total int64
	for {
		if w.n == len(w.buf) {
			w.flush(nil, false)
		}
		if w.err != nil {
			return total, w.err
		}
		n, err := r.Read(w.buf[w.n:])
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
	if !BodyAllowed(w.status) {
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

// flush hands the head (once), the buffered bytes and tail to the stream.
func (w *ResponseWriter) flush(tail []byte, end bool) {
	if w.err != nil {
		return
	}
	if err := w.s.Flush(w.nextHead(end), w.n, tail, end); err != nil {
		w.err = err
		return
	}
	w.sent += int64(w.n) + int64(len(tail))
	w.n = 0
}

// nextHead returns the head to send with the next call to the stream, or
// nil once it has gone. end means the whole body is in the buffer.
func (w *ResponseWriter) nextHead(end bool) *Head {
	if w.committed {
		return nil
	}
	w.committed = true
	if w.onHead != nil {
		w.onHead(&w.header)
	}
	w.addID()
	length := w.declared
	switch {
	case !BodyAllowed(w.status):
		if w.status != 304 {
			length = -1 // RFC 9110 §8.6: never on 1xx and 204
		}
	case length < 0 && end:
		length = w.written
		if w.discard && w.written == 0 {
			length = -1 // HEAD whose handler wrote nothing: length unknown
		}
	}
	w.head = Head{Status: w.status, Reason: w.reason, Header: &w.header, Trailer: &w.trailer, Length: length, Bodiless: w.discard, Close: w.close}
	return &w.head
}

// addID sends the request's id back, unless the handler set the field
// itself (an app or upstream that echoes it, or keeps its own).
func (w *ResponseWriter) addID() {
	if r := w.req; r.IDField != "" && r.idLen > 0 && !w.header.Has(r.IDField) {
		addRaw(&w.header, r.IDField, r.ID())
	}
}

// ParseLength parses a Content-Length value: plain digits, no sign, at
// most 18 of them.
func ParseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

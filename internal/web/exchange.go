package web

import "errors"

// Exchange is a protocol server's handle on one request's response. The
// server begins it, gives the Handler its W, and ends it; a Handler holds
// only W and cannot do either. An HTTP/1 connection reuses one Exchange
// per request; an HTTP/2 connection pools one per stream.
type Exchange struct {
	W ResponseWriter
}

// Begin prepares x.W to answer r through s.
func (x *Exchange) Begin(s Stream, r *Request) {
	w := &x.W
	w.header.Reset()
	w.trailer.Reset()
	w.s, w.req, w.buf = s, r, s.Buffer()
	w.status, w.reason, w.n, w.written, w.declared, w.sent, w.err = 0, "", 0, 0, -1, 0, nil
	w.committed, w.close, w.upgraded, w.relayed, w.onHead = false, false, false, false, nil
	w.discard = string(r.Method) == "HEAD"
}

// Relayed reports whether the handler said it relayed another process's
// answer (ResponseWriter.Relayed).
func (x *Exchange) Relayed() bool { return x.W.relayed }

// Restart forgets what the handler set and buffered, so that the server
// can answer instead (a handler that panicked before sending anything). It
// must not be called once W is committed.
func (x *Exchange) Restart() {
	s, r := x.W.s, x.W.req
	x.Begin(s, r)
}

// End completes the response after the handler returned: the head if
// nothing was sent (with the buffered body's length), the rest of the
// body, and its end. A body shorter than its declared length aborts the
// exchange, since the client could not tell it ended.
func (x *Exchange) End() error {
	w := &x.W
	if w.upgraded {
		return w.err
	}
	if w.status == 0 {
		w.WriteHeader(200)
	}
	if w.declared >= 0 && w.written < w.declared && !w.discard {
		// Sent without its end, so that no protocol marks it complete
		// (HTTP/2 would set END_STREAM), then aborted.
		w.flush(nil, false)
		w.s.Abort()
		if w.err == nil {
			return ErrShortBody
		}
		return w.err
	}
	w.flush(nil, true)
	return w.err
}

// ErrShortBody: the handler wrote less than its declared Content-Length.
var ErrShortBody = errors.New("web: handler wrote less than its Content-Length")

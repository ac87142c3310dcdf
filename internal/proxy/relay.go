package proxy

import (
	"errors"
	"io"
	"time"

	"nave/internal/http1"
	"nave/internal/web"
)

// relay reads the server's response from c and passes it to w: interim
// 1xx heads, the final head without its hop-by-hop fields, the body, and
// trailers where the client's framing carries them.
func (h *Handler) relay(c *conn, w *web.ResponseWriter, r *web.Request, upgrade bool) attempt {
	head := string(r.Method) == "HEAD"
	resp := &c.resp
	sent := time.Now() // the request is sent: the time to first byte runs from here
	c.armRead(sent, h.set.header)
	c.src.armed = true
	for interim := 0; ; interim++ {
		if err := http1.ReadResponse(&c.in, resp, head, &h.lim); err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				err = io.EOF // a close before a whole head: what a stale pooled connection gives
			}
			return attempt{err: err, status: failStatus(err)}
		}
		if resp.Status >= 200 {
			c.srv.meter.ttfb.ObserveDuration(time.Since(sent))
			break
		}
		if interim == maxInterim {
			return attempt{err: errTooManyInterim, status: 502}
		}
		if resp.Status == 101 {
			if !upgrade {
				return attempt{err: errUnaskedUpgrade, status: 502}
			}
			c.srv.meter.ttfb.ObserveDuration(time.Since(sent))
			return h.tunnel(c, w, r)
		}
		if resp.Status != 100 {
			// 103 Early Hints and the like go on; 100 Continue was nave's
			// own to send, as it read the body.
			hd := w.Header()
			n := hd.Len()
			copyFields(hd, &resp.Header)
			w.WriteHeader(resp.Status)
			hd.Truncate(n)
			c.src.armed = true // the final head is due within the same timeout
		}
	}
	c.src.timeout = h.set.read
	copyFields(w.Header(), &resp.Header)
	if resp.Reason != nil && string(resp.Reason) != web.StatusText(resp.Status) {
		w.SetReason(string(resp.Reason))
	}
	w.WriteHeader(resp.Status)
	if head || !web.BodyAllowed(resp.Status) {
		return attempt{}
	}
	held, n, err := h.relayBody(c, w, resp)
	if err != nil {
		return attempt{err: err, status: failStatus(err)}
	}
	if held != nil {
		return attempt{held: held, heldN: n}
	}
	for i := range resp.Trailer.Len() {
		name, value := resp.Trailer.At(i)
		if !hopByHop(name) {
			w.Trailer().AddTrusted(name, value)
		}
	}
	return attempt{}
}

// relayBody copies the response body through c's buffer, so that a client
// slower than the server holds the server back rather than growing any
// buffer: at most len(c.buf) bytes are in nave at a time. A body of a
// known length that fits the buffer is read whole first and handed back
// as held, so that the connection can go back to the pool before the
// client has taken the answer: a slow client then holds a buffer, not an
// upstream connection. (A body of at most holdMin is in that case anyway.)
func (h *Handler) relayBody(c *conn, w *web.ResponseWriter, resp *http1.Response) (held *[]byte, n int, err error) {
	h.buffer(c)
	if size := resp.ContentLength; size > holdMin && size <= int64(len(c.buf)) {
		if _, err := io.ReadFull(&resp.Body, c.buf[:size]); err != nil {
			return nil, 0, unexpected(err)
		}
		held, c.buf, c.bufp = c.bufp, nil, nil
		return held, int(size), nil
	}
	for {
		n, err := resp.Body.Read(c.buf)
		if n > 0 {
			if _, werr := w.Write(c.buf[:n]); werr != nil {
				return nil, 0, &clientError{werr}
			}
		}
		if err == io.EOF {
			return nil, 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
	}
}

// holdMin: a body this small is not held, since the ResponseWriter's own
// buffer (8 KiB on HTTP/1.1 and HTTP/2) keeps it until the handler returns,
// after the connection is pooled, without writing to the client; holding
// it would only cost a trip through the buffer pool.
const holdMin = 4 << 10

// unexpected turns the end of the connection inside a body into the
// error it is.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// buffer gives c a body buffer, from the handler's pool of them.
func (h *Handler) buffer(c *conn) {
	if c.buf != nil {
		return
	}
	p, ok := h.bufs.Get().(*[]byte)
	if !ok {
		b := make([]byte, bodyBufferSize)
		p = &b
	}
	c.bufp, c.buf = p, *p
}

// release sends the first n bytes of a body held while its upstream
// connection went back to the pool, and returns the buffer to the pool.
func (h *Handler) release(w *web.ResponseWriter, held *[]byte, n int) {
	w.Write((*held)[:n]) // a failure is the client's, and the exchange knows it
	h.bufs.Put(held)
}

// maxInterim bounds the 1xx heads before a final one: a server that sends
// them without end would hold the request until the header timeout.
const maxInterim = 16

var errTooManyInterim = errors.New("proxy: too many 1xx responses")

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
	c.armRead(time.Now(), h.set.header)
	c.src.armed = true
	for interim := 0; ; interim++ {
		if err := http1.ReadResponse(&c.in, resp, head, &h.lim); err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				err = io.EOF // a close before a whole head: what a stale pooled connection gives
			}
			return attempt{err: err, status: failStatus(err)}
		}
		if resp.Status >= 200 {
			break
		}
		if interim == maxInterim {
			return attempt{err: errTooManyInterim, status: 502}
		}
		if resp.Status == 101 {
			if !upgrade {
				return attempt{err: errUnaskedUpgrade, status: 502}
			}
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
	if err := h.relayBody(c, w, resp); err != nil {
		return attempt{err: err, status: failStatus(err)}
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
// buffer: at most len(c.buf) bytes are in nave at a time.
func (h *Handler) relayBody(c *conn, w *web.ResponseWriter, resp *http1.Response) error {
	if c.buf == nil {
		c.buf = make([]byte, bodyBufferSize)
	}
	for {
		n, err := resp.Body.Read(c.buf)
		if n > 0 {
			if _, werr := w.Write(c.buf[:n]); werr != nil {
				return &clientError{werr}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// maxInterim bounds the 1xx heads before a final one: a server that sends
// them without end would hold the request until the header timeout.
const maxInterim = 16

var errTooManyInterim = errors.New("proxy: too many 1xx responses")

package wsgi

import (
	"io"
	"os"
	"slices"
	"sync"

	"nave/internal/web"
)

// DefaultBodyBuffer is the largest request body a Handler keeps in memory
// and sends to the worker inside the REQUEST frame; a larger one goes to
// an unlinked temporary file whose descriptor the worker reads.
const DefaultBodyBuffer = 1 << 20

// copyBuffers are the buffers bodies are spooled through.
var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, 64<<10)
	return &b
}}

// readBody reads the whole request body before a worker is involved, so
// that a slow client never holds one. It returns the CONTENT_LENGTH to
// announce: the body's length, or -1 when the request has no body framing.
// A chunked body arrives de-chunked, with its length.
func readBody(c *call, r *web.Request, limit int64) (int64, error) {
	switch {
	case r.ContentLength < 0:
	case r.ContentLength > 0:
		if r.ContentLength <= limit {
			n := int(r.ContentLength)
			c.body = slices.Grow(c.body[:0], n)[:n]
			if _, err := io.ReadFull(r.Body, c.body); err != nil {
				return 0, err
			}
			return int64(n), nil
		}
	case r.Header.Has("Content-Length"):
		return 0, nil
	default:
		return -1, nil
	}
	// A chunked body of unknown length, or one too large for memory: into
	// memory up to limit, then into a file.
	n, err := readUpTo(c, r.Body, limit)
	if err == io.EOF {
		return n, nil
	}
	if err != nil {
		return 0, err
	}
	f, err := openTemp(c.spoolDir)
	if err != nil {
		return 0, &spoolError{err}
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	_, err = f.Write(c.body)
	if err != nil {
		err = &spoolError{err}
	} else {
		var m int64
		m, err = io.CopyBuffer(writerOnly{f}, r.Body, *bp)
		n += m
	}
	if err != nil {
		f.Close()
		return 0, err
	}
	c.body = c.body[:0]
	c.bodyFile = f
	return n, nil
}

// readUpTo reads body bytes into c.body until the body ends (io.EOF) or
// limit bytes are in (nil error: there may be more).
func readUpTo(c *call, body io.Reader, limit int64) (int64, error) {
	c.body = c.body[:0]
	for int64(len(c.body)) < limit {
		if len(c.body) == cap(c.body) {
			c.body = slices.Grow(c.body, min(max(cap(c.body), 4<<10), int(limit)-len(c.body)))
		}
		m, err := body.Read(c.body[len(c.body):min(cap(c.body), int(limit))])
		c.body = c.body[:len(c.body)+m]
		if err != nil {
			return int64(len(c.body)), err
		}
	}
	return int64(len(c.body)), nil
}

// spoolError is a failure to store a body on nave's side (a full disk),
// not the client's: 500.
type spoolError struct{ err error }

func (e *spoolError) Error() string { return "wsgi: spooling the request body: " + e.err.Error() }
func (e *spoolError) Unwrap() error { return e.err }

// writerOnly hides *os.File's ReadFrom, whose fallback would allocate its
// own buffer.
type writerOnly struct{ f *os.File }

func (w writerOnly) Write(p []byte) (int, error) { return w.f.Write(p) }

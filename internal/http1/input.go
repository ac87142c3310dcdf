package http1

import (
	"bytes"
	"io"
)

// DefaultBufferSize is the size of a read buffer Input makes for itself
// when its owner attached none. Heads larger than the buffer grow it, up to
// what the Limits allow.
const DefaultBufferSize = 4 << 10

// Input is the read side of a connection: received bytes not yet consumed,
// and the source of more. Bytes a request did not consume (a pipelined next
// request) stay buffered for the next ReadRequest.
//
// The owner may attach a buffer (from a pool, say) with SetBuffer and take
// it back with TakeBuffer whenever nothing is buffered.
type Input struct {
	Src  io.Reader
	buf  []byte
	r, w int // unread bytes are buf[r:w]
	// keep protects buf[:keep], which holds the head of the request being
	// served: its Request aliases those bytes until the handler returns, so
	// reading the body must not move or overwrite them.
	keep int
}

// Buffered is the number of bytes received and not yet consumed.
func (in *Input) Buffered() int { return in.w - in.r }

// SetBuffer hands in a buffer whose first n bytes were received from Src.
// It must only be called when nothing is buffered.
func (in *Input) SetBuffer(buf []byte, n int) {
	in.buf, in.r, in.w, in.keep = buf, 0, n, 0
}

// TakeBuffer returns the buffer and detaches it, or nil when bytes are
// still buffered (they belong to the next request) or there is none.
func (in *Input) TakeBuffer() []byte {
	if in.r < in.w || in.buf == nil {
		return nil
	}
	b := in.buf
	in.buf, in.r, in.w, in.keep = nil, 0, 0, 0
	return b
}

// Peek returns the next n unconsumed bytes, reading from Src until that
// many are buffered. They are valid until the next read.
func (in *Input) Peek(n int) ([]byte, error) {
	for in.w-in.r < n {
		if err := in.fill(); err != nil {
			return in.buf[in.r:in.w], err
		}
	}
	return in.buf[in.r : in.r+n], nil
}

// Take consumes and returns every buffered byte, valid until the next
// read: for a connection handed to another protocol.
func (in *Input) Take() []byte {
	b := in.buf[in.r:in.w]
	in.r = in.w
	return b
}

// fill reads at least one more byte from Src, compacting or growing the
// buffer when it is full, never touching buf[:keep]. Growth is bounded by
// the callers' limits.
func (in *Input) fill() error {
	switch {
	case in.buf == nil:
		in.buf = make([]byte, DefaultBufferSize)
	case in.r == in.w && in.keep < len(in.buf):
		in.r, in.w = in.keep, in.keep
	case in.w == len(in.buf) && in.r > in.keep:
		in.w = in.keep + copy(in.buf[in.keep:], in.buf[in.r:in.w])
		in.r = in.keep
	case in.w == len(in.buf):
		// The old buffer stays alive as long as a Request aliases it.
		grown := make([]byte, 2*len(in.buf))
		in.w = copy(grown, in.buf[in.r:in.w])
		in.buf, in.r, in.keep = grown, 0, 0
	}
	for range 100 {
		n, err := in.Src.Read(in.buf[in.w:])
		in.w += n
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// readLine returns the next line of a chunked body without its CRLF,
// consuming it. A line longer than max bytes gives tooLong; one not ended
// by CRLF gives ErrBadChunk (RFC 9112 §7.1 has no bare-LF leniency); a
// source that ends first gives io.ErrUnexpectedEOF.
func (in *Input) readLine(max int, tooLong error) ([]byte, error) {
	seen := 0
	for {
		if i := bytes.IndexByte(in.buf[in.r+seen:in.w], '\n'); i >= 0 {
			end := in.r + seen + i
			if end-in.r > max+1 {
				// Checked first, as for a partial line, so that the error
				// does not depend on how the bytes arrived.
				return nil, tooLong
			}
			if end == in.r || in.buf[end-1] != '\r' {
				return nil, ErrBadChunk
			}
			line := in.buf[in.r : end-1]
			in.r = end + 1
			return line, nil
		}
		seen = in.w - in.r
		if seen > max+1 {
			return nil, tooLong
		}
		if err := in.fill(); err != nil {
			return nil, unexpectedEOF(err)
		}
	}
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadRequest reads one request head from in into r and prepares r.Body.
// It returns io.EOF when the source ends cleanly before a request starts,
// and a *ProtocolError for a request that must be refused.
func ReadRequest(in *Input, r *Request, lim *Limits) error {
	r.Reset()
	in.keep = 0 // the previous request's handler has returned
	for {
		n, err := r.ParseHead(in.buf[in.r:in.w], lim)
		if err != nil {
			return err
		}
		if n > 0 {
			in.r += n
			in.keep = in.r
			r.Body.init(in, r, lim)
			r.Request.Body = &r.Body
			return nil
		}
		if err := in.fill(); err != nil {
			if err == io.EOF && in.r == in.w {
				return io.EOF
			}
			return unexpectedEOF(err)
		}
	}
}

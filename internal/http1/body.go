package http1

import (
	"io"

	"nave/internal/web"
)

// maxChunkLine bounds a chunk-size line with its extensions.
const maxChunkLine = 4 << 10

// Body reads a message body, framed by Content-Length or chunked
// (RFC 9112 §6, §7.1), or, for a response, by the end of the connection
// (§6.3 rule 8). Reading past the end returns io.EOF; errors are sticky. A
// client that expects 100-continue is sent "100 Continue" on the first
// Read, not before.
type Body struct {
	in        *Input
	trailer   *web.Header // where the trailer section goes
	chunked   bool
	rw        *Writer // to send 100 Continue; nil when not expected
	lim       *Limits
	remaining int64 // bytes left in the body or the current chunk
	total     int64 // bytes returned so far
	state     bodyState
	err       error
}

type bodyState uint8

const (
	bodyDone      bodyState = iota // nothing (more) to read
	bodyData                       // reading remaining bytes
	bodyChunkHead                  // before a chunk-size line
	bodyChunkEnd                   // before the CRLF that ends chunk data
	bodyUntilEOF                   // a response delimited by the connection's end
)

func (b *Body) init(in *Input, r *Request, lim *Limits) {
	b.start(in, &r.Trailer, r.Chunked, r.ContentLength, lim)
}

// start prepares b for a body of length bytes, or chunked, or (length < 0
// and not chunked) one that runs to the end of the input.
func (b *Body) start(in *Input, trailer *web.Header, chunked bool, length int64, lim *Limits) {
	*b = Body{in: in, trailer: trailer, chunked: chunked, lim: lim}
	switch {
	case chunked:
		b.state = bodyChunkHead
	case length > 0:
		b.state, b.remaining = bodyData, length
	case length < 0:
		b.state, b.remaining = bodyUntilEOF, 1<<62
	}
}

// Read reads body bytes into p.
func (b *Body) Read(p []byte) (int, error) { return b.read(p, len(p)) }

// read moves up to max body bytes into p, or drops them when p is nil.
func (b *Body) read(p []byte, max int) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.rw != nil {
		rw := b.rw
		b.rw = nil
		if err := rw.writeContinue(); err != nil {
			return 0, b.fail(err)
		}
	}
	for b.state == bodyChunkHead || b.state == bodyChunkEnd {
		if err := b.chunkBoundary(); err != nil {
			return 0, b.fail(err)
		}
	}
	if b.state == bodyDone || max == 0 {
		if b.state == bodyDone {
			return 0, io.EOF
		}
		return 0, nil
	}
	if int64(max) > b.remaining {
		max = int(b.remaining)
	}
	var n int
	var err error
	if p == nil {
		n, err = b.skipData(max)
	} else {
		n, err = b.readData(p[:max])
	}
	b.remaining -= int64(n)
	b.total += int64(n)
	if b.remaining == 0 {
		b.state = bodyDone
		if b.chunked {
			b.state = bodyChunkEnd
		}
	}
	if err != nil {
		if err == io.EOF && b.state == bodyUntilEOF {
			b.state = bodyDone
			return n, nil
		}
		return n, b.fail(unexpectedEOF(err))
	}
	return n, nil
}

// readData copies buffered bytes, or reads large requests straight from the
// source into p so that big uploads are not copied twice.
func (b *Body) readData(p []byte) (int, error) {
	in := b.in
	if in.r == in.w {
		if len(p) >= DefaultBufferSize {
			n, err := in.Src.Read(p)
			if n > 0 {
				// Like fill: data comes first; an error (io.EOF with the
				// body's last bytes) is seen again on the next Read.
				return n, nil
			}
			return 0, err
		}
		if err := in.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, in.buf[in.r:in.w])
	in.r += n
	return n, nil
}

// skipData drops up to max buffered bytes, reading more when none are.
func (b *Body) skipData(max int) (int, error) {
	in := b.in
	if in.r == in.w {
		if err := in.fill(); err != nil {
			return 0, err
		}
	}
	n := min(max, in.w-in.r)
	in.r += n
	return n, nil
}

// chunkBoundary reads the CRLF after chunk data, or a chunk-size line and,
// after the last chunk, the trailer section.
func (b *Body) chunkBoundary() error {
	if b.state == bodyChunkEnd {
		line, err := b.in.readLine(0, ErrBadChunk)
		if err != nil {
			return err
		}
		if len(line) != 0 {
			return ErrBadChunk
		}
		b.state = bodyChunkHead
		return nil
	}
	line, err := b.in.readLine(maxChunkLine, ErrBadChunk)
	if err != nil {
		return err
	}
	size, err := parseChunkLine(line)
	if err != nil {
		return err
	}
	if size > b.lim.bodyBytes()-b.total {
		return ErrBodyTooLarge
	}
	if size == 0 {
		b.state = bodyDone
		return b.readTrailer()
	}
	b.state, b.remaining = bodyData, size
	return nil
}

// parseChunkLine parses chunk-size [ chunk-ext ] (RFC 9112 §7.1, §7.1.1).
func parseChunkLine(line []byte) (int64, error) {
	var size int64
	i := 0
	for ; i < len(line); i++ {
		d := web.Unhex(line[i])
		if d < 0 {
			break
		}
		if size > (1<<62)>>4 {
			return 0, ErrBadChunk
		}
		size = size<<4 | int64(d)
	}
	if i == 0 || !validChunkExt(line[i:]) {
		return 0, ErrBadChunk
	}
	return size, nil
}

// validChunkExt checks *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
// Extensions are understood by nobody and ignored, but must be well-formed:
// lax parsing here is a known request-smuggling vector.
func validChunkExt(b []byte) bool {
	for {
		b = skipOWS(b)
		if len(b) == 0 {
			return true
		}
		if b[0] != ';' {
			return false
		}
		b = skipOWS(b[1:])
		n := tokenLen(b)
		if n == 0 {
			return false
		}
		b = skipOWS(b[n:])
		if len(b) == 0 || b[0] != '=' {
			continue
		}
		b = skipOWS(b[1:])
		if n = tokenLen(b); n > 0 {
			b = b[n:]
			continue
		}
		if n = quotedLen(b); n == 0 {
			return false
		}
		b = b[n:]
	}
}

func skipOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	return b
}

func tokenLen(b []byte) int {
	n := 0
	for n < len(b) && byteClass[b[n]]&classToken != 0 {
		n++
	}
	return n
}

// quotedLen is the length of the quoted-string b starts with (RFC 9110
// §5.6.4), or 0 when it starts with none.
func quotedLen(b []byte) int {
	if len(b) == 0 || b[0] != '"' {
		return 0
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			i++
			if i == len(b) || byteClass[b[i]]&classValue == 0 {
				return 0
			}
		case byteClass[c]&classValue == 0:
			return 0
		}
	}
	return 0
}

// readTrailer reads the trailer section into req.Trailer, copying its bytes
// (the input buffer is reused), under the header limits.
func (b *Body) readTrailer() error {
	t := b.trailer
	size := 0
	for {
		line, err := b.in.readLine(b.lim.headerBytes(), ErrHeaderTooLarge)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		size += len(line) + 2
		if size > b.lim.headerBytes() {
			return ErrHeaderTooLarge
		}
		if t.Len() >= b.lim.headerCount() {
			return ErrTooManyHeaders
		}
		colon, v0, v1, err := splitField(line)
		if err != nil {
			return err
		}
		t.AddTrusted(line[:colon], line[v0:v1])
	}
}

// Discard reads and drops what is left of the body, at most limit bytes. It
// returns an error when more remains or reading failed; the connection
// cannot be reused then.
func (b *Body) Discard(limit int64) error {
	if b.Done() {
		// Nothing left; and no 100 Continue for a body nobody wants.
		return nil
	}
	var dropped int64
	for {
		// Up to one byte past limit: enough to know it is exceeded. Bytes
		// are dropped where they lie, with no scratch buffer to allocate.
		n, err := b.read(nil, int(min(max(limit-dropped, 0), 1<<30)+1))
		dropped += int64(n)
		switch {
		case dropped > limit:
			return ErrBodyTooLarge
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}

// Total is the number of body bytes read so far, whether returned by
// Read or dropped by Discard.
func (b *Body) Total() int64 { return b.total }

// Done reports whether the body was read to its end (or was empty).
func (b *Body) Done() bool { return b.state == bodyDone && b.err == nil }

// Err is the error that stopped the body, if any.
func (b *Body) Err() error { return b.err }

func (b *Body) fail(err error) error {
	b.err = err
	return err
}

package http1

import (
	"bytes"
	"io"

	"nave/internal/web"
)

// Response is a response head read from a server (RFC 9112 §4), as a
// gateway reads its upstream's answer, and the Body that follows it. Its
// byte slices alias the Input's buffer: they are valid until the next read
// from that Input after the body, or until the next ReadResponse.
type Response struct {
	Status     int
	Reason     []byte
	ProtoMinor int
	Header     web.Header
	Trailer    web.Header // filled once Body has been read to its end
	// ContentLength is the body's declared length, or -1 when it is
	// chunked or runs to the connection's end.
	ContentLength int64
	Chunked       bool
	// Close: the server will close the connection after this response
	// (Connection: close, HTTP/1.0 without keep-alive, or a body that only
	// the close can end).
	Close bool
	Body  Body
}

// Errors in a server's response. A gateway must not pass such a response
// on (RFC 9112 §6.3 rule 5: an invalid length is an unrecoverable error);
// it answers 502.
var (
	ErrBadStatusLine     = &web.ProtocolError{Status: 502, Reason: "malformed status line"}
	ErrBadResponseHeader = &web.ProtocolError{Status: 502, Reason: "malformed response header"}
	ErrResponseFraming   = &web.ProtocolError{Status: 502, Reason: "invalid response framing"}
	ErrResponseTooLarge  = &web.ProtocolError{Status: 502, Reason: "response header too large"}
)

// ReadResponse reads one response head from in into p and prepares p.Body.
// bodiless says that no body can follow whatever the head says (the
// request was HEAD, RFC 9112 §6.3 rule 1); 1xx, 204 and 304 have none
// either. A 1xx head is returned as it is: the caller reads the final one
// with another call. lim bounds the header section (MaxHeaderBytes,
// MaxHeaderCount) and the chunk sizes of the body (MaxBodyBytes).
// io.EOF means the connection ended before any byte of a response.
func ReadResponse(in *Input, p *Response, bodiless bool, lim *Limits) error {
	p.Header.Reset()
	p.Trailer.Reset()
	p.Status, p.Reason, p.ProtoMinor, p.ContentLength, p.Chunked, p.Close = 0, nil, 1, -1, false, false
	in.keep = 0
	scanned := 0
	for {
		head := in.buf[in.r:in.w]
		if end := headEnd(head, scanned); end > 0 {
			if end > lim.headerBytes()+lim.requestLine() {
				return ErrResponseTooLarge
			}
			in.r += end
			in.keep = in.r
			if err := p.parse(head[:end:end], lim); err != nil {
				return err
			}
			return p.framing(in, bodiless, lim)
		}
		scanned = max(len(head)-3, 0)
		if len(head) > lim.headerBytes()+lim.requestLine() {
			return ErrResponseTooLarge
		}
		if err := in.fill(); err != nil {
			if err == io.EOF && in.r == in.w {
				return io.EOF
			}
			return unexpectedEOF(err)
		}
	}
}

// headEnd is the length of the head b starts with, through the empty line
// that ends it (CRLF CRLF, or bare LFs), or 0 when b holds no complete
// head. Bytes before from were searched already.
func headEnd(b []byte, from int) int {
	for {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			return 0
		}
		at := from + i
		switch {
		case at+1 < len(b) && b[at+1] == '\n':
			return at + 2
		case at+2 < len(b) && b[at+1] == '\r' && b[at+2] == '\n':
			return at + 3
		}
		from = at + 1
	}
}

// parse reads the status line and fields of head.
func (p *Response) parse(head []byte, lim *Limits) error {
	p.Header.SetArena(head)
	line, rest := nextLine(head, 0)
	if err := p.statusLine(head[line:rest]); err != nil {
		return err
	}
	var te teState
	var length int64 = -1
	for pos := rest; ; {
		lo, next := nextLine(head, pos)
		hi := lo
		if next > lo {
			hi = next - 1
			if hi > lo && head[hi-1] == '\r' {
				hi--
			}
		}
		if hi == lo {
			break
		}
		if p.Header.Len() >= lim.headerCount() {
			return ErrResponseTooLarge
		}
		colon, v0, v1, err := splitField(head[lo:hi])
		if err != nil {
			return ErrBadResponseHeader
		}
		p.Header.AddSpan(lo, lo+colon, lo+v0, lo+v1)
		if err := p.special(head[lo:lo+colon], head[lo+v0:lo+v1], &te, &length); err != nil {
			return err
		}
		pos = next
	}
	if te.seen {
		if length >= 0 || !te.chunkedLast || te.chunkedCount > 1 {
			// Both, or a coding we cannot undo: the body's end is unknowable
			// (§6.3 rules 3 and 4); never relayed.
			return ErrResponseFraming
		}
		p.Chunked = true
		return nil
	}
	p.ContentLength = length
	return nil
}

// nextLine returns the start of the line at pos and the start of the next.
func nextLine(b []byte, pos int) (lo, next int) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		return pos, pos
	}
	return pos, pos + i + 1
}

// statusLine parses HTTP-version SP 3DIGIT SP [ reason-phrase ] (RFC 9112
// §4); a missing SP before an empty reason is tolerated, as browsers do.
func (p *Response) statusLine(line []byte) error {
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || !isDigit(line[7]) || line[8] != ' ' {
		return ErrBadStatusLine
	}
	p.ProtoMinor = min(int(line[7]-'0'), 1)
	code := 0
	for _, c := range line[9:12] {
		if !isDigit(c) {
			return ErrBadStatusLine
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return ErrBadStatusLine
	}
	p.Status = code
	if len(line) > 12 {
		if line[12] != ' ' || !web.ValidFieldValue(line[13:]) {
			return ErrBadStatusLine
		}
		p.Reason = line[13:]
	}
	return nil
}

// special notes the fields that frame the body or steer the connection.
func (p *Response) special(name, value []byte, te *teState, length *int64) error {
	switch len(name) {
	case 10:
		if equalFold(name, "connection") && web.HasToken(value, "close") {
			p.Close = true
		}
	case 14:
		if equalFold(name, "content-length") {
			for item, rest, ok := nextListItem(value); ok; item, rest, ok = nextListItem(rest) {
				n, valid := web.ParseLength(item)
				if !valid || *length >= 0 && n != *length {
					return ErrResponseFraming
				}
				*length = n
			}
			if *length < 0 {
				return ErrResponseFraming
			}
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			var ps parseState
			ps.te = *te
			ps.transferEncoding(value)
			*te = ps.te
		}
	}
	return nil
}

// framing decides how the body ends (RFC 9112 §6.3) and starts p.Body.
func (p *Response) framing(in *Input, bodiless bool, lim *Limits) error {
	if p.ProtoMinor == 0 {
		p.Close = p.Close || !hasKeepAlive(&p.Header)
	}
	if bodiless || p.Status < 200 || p.Status == 204 || p.Status == 304 {
		p.Body.start(in, &p.Trailer, false, 0, lim)
		return nil
	}
	if !p.Chunked && p.ContentLength < 0 {
		p.Close = true // rule 8: the close ends the body
	}
	p.Body.start(in, &p.Trailer, p.Chunked, p.ContentLength, lim)
	return nil
}

func hasKeepAlive(h *web.Header) bool {
	for v := range h.Values("Connection") {
		if web.HasToken(v, "keep-alive") {
			return true
		}
	}
	return false
}

package http1

import (
	"bytes"

	"nave/internal/web"
)

// parseState carries an unfinished head across calls to ParseHead, so that
// a head arriving in pieces is scanned once, not once per piece. Offsets
// index the slice given to ParseHead, which grows between calls but always
// starts at the head's first byte.
type parseState struct {
	pos       int  // start of the first line not yet parsed
	scanned   int  // bytes from pos already searched for LF
	start     int  // start of the request line, after leading empty lines
	fieldsAt  int  // start of the header section
	lineDone  bool // request line parsed
	minor     int
	method    span
	target    span
	path      span
	query     span // n0 < 0 when absent
	authority span // from an absolute- or authority-form target
	hostField span
	hosts     int
	hasLength bool
	length    int64
	te        teState
	keepAlive bool
	close     bool
	expect    bool // an Expect field is present
	expect100 bool // and every Expect field is 100-continue
}

type span struct{ n0, n1 int }

func (s span) of(b []byte) []byte { return b[s.n0:s.n1:s.n1] }

// teState follows Transfer-Encoding across repeated fields (RFC 9112 §6.1).
type teState struct {
	seen         bool
	chunkedCount int
	chunkedLast  bool
	other        bool // a coding other than chunked
}

// ParseHead parses a request head from b, which holds the head's bytes from
// its first byte on. It returns the length of the complete head (with its
// final empty line) when b holds one, or 0 and nil when more bytes are
// needed: call again with the same bytes and more after them. Lines may end
// in CRLF or a bare LF (RFC 9112 §2.2). On success the fields of r alias b.
//
// r must be Reset before the first call for a new head.
func (r *Request) ParseHead(b []byte, lim *Limits) (int, error) {
	ps := &r.ps
	// The fields parsed so far index b. Point the Header at b now, not only
	// once the head is complete, so that it stays readable when parsing
	// stops at an error: the refusal is logged with r, and an arena left
	// from the previous request would read its bytes, or past its end.
	r.Header.SetArena(b[:len(b):len(b)])
	for {
		i := bytes.IndexByte(b[ps.pos+ps.scanned:], '\n')
		if i < 0 {
			// Resume the search here next time: a head trickled in byte by
			// byte is scanned once, not once per byte.
			ps.scanned = len(b) - ps.pos
			return 0, ps.checkPartial(len(b), lim)
		}
		end := ps.pos + ps.scanned + i
		ps.scanned = 0
		next := end + 1
		if end > ps.pos && b[end-1] == '\r' {
			end--
		}
		line := b[ps.pos:end]
		switch {
		case !ps.lineDone && len(line) == 0:
			// RFC 9112 §2.2: ignore empty lines before the request line.
			if next > lim.requestLine() {
				return 0, ErrBadRequestLine
			}
			ps.start = next
		case !ps.lineDone:
			if next-ps.start > lim.requestLine() {
				return 0, ErrURITooLong
			}
			if err := ps.requestLine(b, ps.pos, end); err != nil {
				return 0, err
			}
			ps.lineDone, ps.fieldsAt = true, next
		case len(line) == 0:
			return next, r.finishHead(b[:next:next], lim)
		default:
			if next-ps.fieldsAt > lim.headerBytes() {
				return 0, ErrHeaderTooLarge
			}
			if r.Header.Len() >= lim.headerCount() {
				return 0, ErrTooManyHeaders
			}
			if err := r.fieldLine(b, ps.pos, end); err != nil {
				return 0, err
			}
		}
		ps.pos = next
	}
}

// checkPartial applies the size limits to a head not yet complete.
func (ps *parseState) checkPartial(n int, lim *Limits) error {
	if !ps.lineDone {
		if n-ps.start > lim.requestLine() {
			return ErrURITooLong
		}
		return nil
	}
	// One byte over is allowed: it may be the CR of the empty line that ends
	// the head, which the limit does not count, so that whether a head fits
	// does not depend on how its bytes arrive.
	if n-ps.fieldsAt > lim.headerBytes()+1 {
		return ErrHeaderTooLarge
	}
	return nil
}

// requestLine parses b[lo:hi]: method SP request-target SP HTTP-version
// (RFC 9112 §3), one SP each.
func (ps *parseState) requestLine(b []byte, lo, hi int) error {
	line := b[lo:hi]
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		return ErrBadRequestLine
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ')
	if sp2 < 0 {
		return ErrBadRequestLine
	}
	sp2 += sp1 + 1
	if !isToken(line[:sp1]) {
		return ErrBadRequestLine
	}
	minor, err := parseVersion(line[sp2+1:])
	if err != nil {
		return err
	}
	ps.method = span{lo, lo + sp1}
	ps.target = span{lo + sp1 + 1, lo + sp2}
	ps.minor = minor
	return ps.targetForm(b)
}

// parseVersion accepts "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3, case-sensitive).
// Any 1.x above 1.1 is served as 1.1 (RFC 9110 §6.2); other majors get 505.
func parseVersion(v []byte) (minor int, err error) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' || !isDigit(v[5]) || !isDigit(v[7]) {
		return 0, ErrBadVersion
	}
	if v[5] != '1' {
		return 0, ErrVersion
	}
	if v[7] == '0' {
		return 0, nil
	}
	return 1, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// targetForm classifies the request-target (RFC 9112 §3.2) and splits it.
func (ps *parseState) targetForm(b []byte) error {
	t := ps.target.of(b)
	if len(t) == 0 {
		return ErrBadTarget
	}
	for _, c := range t {
		if byteClass[c]&classTarget == 0 {
			return ErrBadTarget
		}
	}
	ps.query = span{-1, -1}
	method := ps.method.of(b)
	switch {
	case t[0] == '/':
		ps.splitPath(ps.target.n0, ps.target.n1, t)
	case string(t) == "*":
		if string(method) != "OPTIONS" {
			return ErrBadTarget
		}
		ps.path = ps.target
	case string(method) == "CONNECT":
		if !validHost(t) {
			return ErrBadTarget
		}
		ps.authority = ps.target
		ps.path = span{ps.target.n1, ps.target.n1}
	default:
		return ps.absoluteForm(b, t)
	}
	return nil
}

// absoluteForm handles "http://authority/path?query" (RFC 9112 §3.2.2).
func (ps *parseState) absoluteForm(b, t []byte) error {
	var scheme int
	switch {
	case len(t) > 7 && equalFold(t[:7], "http://"):
		scheme = 7
	case len(t) > 8 && equalFold(t[:8], "https://"):
		scheme = 8
	default:
		return ErrBadTarget
	}
	rest := t[scheme:]
	n := bytes.IndexAny(rest, "/?")
	if n < 0 {
		n = len(rest)
	}
	if n == 0 || !validHost(rest[:n]) {
		return ErrBadTarget
	}
	at := ps.target.n0 + scheme
	ps.authority = span{at, at + n}
	if n == len(rest) || rest[n] == '?' {
		// An empty path means "/": point at the "/" that ends the scheme's "//".
		ps.path = span{at - 1, at}
		if n < len(rest) {
			ps.query = span{at + n + 1, ps.target.n1}
		}
		return nil
	}
	ps.splitPath(at+n, ps.target.n1, b[at+n:ps.target.n1])
	return nil
}

func (ps *parseState) splitPath(lo, hi int, t []byte) {
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		ps.path = span{lo, lo + q}
		ps.query = span{lo + q + 1, hi}
		return
	}
	ps.path = span{lo, hi}
}

// validHost checks a Host value or authority (RFC 3986 §3.2.2, §3.2.3):
// an IP-literal in brackets, or reg-name and IPv4 characters, then an
// optional port of 1 to 5 digits (RFC 9110 §7.2), nothing else.
func validHost(h []byte) bool {
	host, port := h, []byte(nil)
	if len(h) > 0 && h[0] == '[' {
		end := bytes.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		host, port = h[1:end], h[end+1:]
		if len(port) > 0 && port[0] != ':' {
			return false
		}
	} else if i := bytes.IndexByte(h, ':'); i >= 0 {
		host, port = h[:i], h[i:]
	}
	for _, c := range host {
		if byteClass[c]&classHost == 0 || c == '[' || c == ']' || c == ':' && h[0] != '[' {
			return false
		}
	}
	if len(port) == 0 {
		return true
	}
	digits := port[1:]
	if len(digits) == 0 || len(digits) > 5 {
		return false
	}
	for _, c := range digits {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// fieldLine parses the field line b[lo:hi] into r.Header.
func (r *Request) fieldLine(b []byte, lo, hi int) error {
	colon, v0, v1, err := splitField(b[lo:hi])
	if err != nil {
		return err
	}
	r.Header.AddSpan(lo, lo+colon, lo+v0, lo+v1)
	return r.ps.special(b[lo:lo+colon], b[lo+v0:lo+v1], span{lo + v0, lo + v1})
}

// splitField splits field-name ":" OWS field-value OWS (RFC 9112 §5),
// returning the colon's offset and the value's bounds within line.
func splitField(line []byte) (colon, v0, v1 int, err error) {
	if isOWS(line[0]) {
		// obs-fold, or whitespace between the start line and the first field.
		return 0, 0, 0, ErrObsFold
	}
	colon = bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) {
		// Includes whitespace before the colon (RFC 9112 §5.1: reject).
		if bytes.IndexByte(line, '\r') >= 0 {
			return 0, 0, 0, ErrBareCR
		}
		return 0, 0, 0, ErrBadHeader
	}
	v0, v1 = colon+1, len(line)
	for v0 < v1 && isOWS(line[v0]) {
		v0++
	}
	for v1 > v0 && isOWS(line[v1-1]) {
		v1--
	}
	for _, c := range line[v0:v1] {
		if byteClass[c]&classValue == 0 {
			if c == '\r' {
				return 0, 0, 0, ErrBareCR
			}
			return 0, 0, 0, ErrBadHeader
		}
	}
	return colon, v0, v1, nil
}

// special records the fields that frame the message or steer the connection.
func (ps *parseState) special(name, value []byte, at span) error {
	switch len(name) {
	case 4:
		if equalFold(name, "host") {
			ps.hosts++
			ps.hostField = at
		}
	case 6:
		if equalFold(name, "expect") {
			// RFC 9110 §5.3: repeated fields are one list, and every
			// member must be 100-continue, whatever the fields' order.
			ps.expect100 = (ps.expect100 || !ps.expect) && equalFold(value, "100-continue")
			ps.expect = true
		}
	case 10:
		if equalFold(name, "connection") {
			for item, rest, ok := nextListItem(value); ok; item, rest, ok = nextListItem(rest) {
				switch {
				case equalFold(item, "close"):
					ps.close = true
				case equalFold(item, "keep-alive"):
					ps.keepAlive = true
				}
			}
		}
	case 14:
		if equalFold(name, "content-length") {
			return ps.contentLength(value)
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			ps.transferEncoding(value)
		}
	}
	return nil
}

// contentLength accepts 1*DIGIT, and a repeated or listed value only when
// every copy is the same number (RFC 9110 §8.6, RFC 9112 §6.3 rule 5).
func (ps *parseState) contentLength(value []byte) error {
	items := 0
	for item, rest, ok := nextListItem(value); ok; item, rest, ok = nextListItem(rest) {
		n, valid := web.ParseLength(item)
		if !valid || ps.hasLength && n != ps.length {
			return ErrContentLength
		}
		ps.hasLength, ps.length = true, n
		items++
	}
	if items == 0 {
		// Empty, or only commas: invalid even after a valid field.
		return ErrContentLength
	}
	return nil
}

func (ps *parseState) transferEncoding(value []byte) {
	ps.te.seen = true
	for item, rest, ok := nextListItem(value); ok; item, rest, ok = nextListItem(rest) {
		if equalFold(item, "chunked") {
			ps.te.chunkedCount++
			ps.te.chunkedLast = true
		} else {
			ps.te.other = true
			ps.te.chunkedLast = false
		}
	}
}

// finishHead checks the head as a whole and fills r from the parse state.
func (r *Request) finishHead(head []byte, lim *Limits) error {
	ps := &r.ps
	ps.lineDone = true
	r.Method = ps.method.of(head)
	r.Target = ps.target.of(head)
	r.Path = ps.path.of(head)
	if ps.query.n0 >= 0 {
		r.Query = ps.query.of(head)
	}
	r.Header.SetArena(head)
	r.ProtoMinor = ps.minor
	if ps.minor == 0 {
		r.Proto = web.HTTP10
	}
	// RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive".
	r.Close = ps.close || ps.minor == 0 && !ps.keepAlive
	if err := r.checkHost(head); err != nil {
		return err
	}
	if err := r.framing(lim); err != nil {
		return err
	}
	if ps.expect && r.ProtoMinor == 1 {
		// RFC 9110 §10.1.1: 100-continue is the only expectation defined;
		// HTTP/1.0 requests' expectations are ignored.
		if !ps.expect100 {
			return ErrExpectation
		}
		r.ExpectContinue = true
	}
	return nil
}

// checkHost applies RFC 9112 §3.2: exactly one valid Host on HTTP/1.1.
func (r *Request) checkHost(head []byte) error {
	ps := &r.ps
	if ps.hosts > 1 || ps.hosts == 0 && r.ProtoMinor == 1 {
		return ErrHost
	}
	if ps.hosts == 1 {
		r.Authority = ps.hostField.of(head)
		if !validHost(r.Authority) {
			return ErrHost
		}
	}
	if ps.authority.n1 > ps.authority.n0 {
		r.Authority = ps.authority.of(head)
	}
	return nil
}

// framing decides how the body is delimited (RFC 9112 §6.3).
func (r *Request) framing(lim *Limits) error {
	ps := &r.ps
	te := ps.te
	switch {
	case te.seen && ps.hasLength:
		// §6.3 rule 3: both present is a smuggling attempt; reject and close.
		return ErrAmbiguousLength
	case te.seen && r.ProtoMinor == 0:
		// §6.1: Transfer-Encoding on HTTP/1.0 means faulty framing.
		return ErrTransferEncoding
	case te.seen && (!te.chunkedLast || te.chunkedCount > 1):
		// §6.3 rule 4: chunked must be final, and applied only once (§7).
		return ErrTransferEncoding
	case te.seen && te.other:
		// §6.1: a coding we do not implement, with a sound chunked framing.
		return ErrUnsupportedCoding
	case te.seen:
		r.Chunked = true
		r.ContentLength = -1
	case ps.hasLength:
		if ps.length > lim.bodyBytes() {
			return ErrBodyTooLarge
		}
		r.ContentLength = ps.length
	}
	return nil
}

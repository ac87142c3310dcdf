package http2

import (
	"errors"

	"nave/internal/web"
)

// Message errors: a header block that decodes well but is not a valid
// HTTP/2 request (RFC 9113 §8.1.1: malformed, a stream error
// PROTOCOL_ERROR), or one larger than nave accepts.
var (
	errMalformed   = errors.New("http2: malformed request")
	errHeaderLarge = errors.New("http2: header section too large")
)

// Pseudo-header bits.
const (
	pseudoMethod = 1 << iota
	pseudoScheme
	pseudoPath
	pseudoAuthority
	pseudoProtocol
)

// requestSink receives a request's (or its trailers') decoded fields and
// checks them against RFC 9113 §8.2–8.3 as they come: field bytes are
// copied once, into the request's header arena or its pseudo buffer.
type requestSink struct {
	req      *web.Request
	pseudo   *[]byte // storage for pseudo-header values and joined cookies
	trailers bool
	limit    uint32 // the header list size allowed
	size     uint32 // the list size so far (RFC 9113 §6.5.2)
	seen     uint8  // pseudo-header bits seen
	regular  bool   // a regular field has been seen
	// Offsets into *pseudo of each pseudo-header's value: [start, end).
	method, scheme, path, authority, protocol [2]int
	cookies                                   int // cookie fields seen
	cookie                                    [2]int
	length                                    int64 // content-length, or -1
	err                                       error
}

func (s *requestSink) reset(req *web.Request, pseudo *[]byte, trailers bool, limit uint32) {
	*s = requestSink{req: req, pseudo: pseudo, trailers: trailers, limit: limit, length: -1}
}

// Field implements FieldSink. Its error ends the sink's use of the block;
// HPACK goes on decoding to keep its table in step.
func (s *requestSink) Field(name, value []byte, _ bool) error {
	s.size += uint32(len(name)+len(value)) + 32
	if s.size > s.limit {
		return errHeaderLarge
	}
	if len(name) == 0 || !validValue(value) {
		return errMalformed
	}
	if name[0] == ':' {
		return s.pseudoField(name, value)
	}
	s.regular = true
	for _, c := range name {
		// RFC 9113 §8.2.1: a name holds no uppercase and only tchars.
		if 'A' <= c && c <= 'Z' || !web.IsTokenChar(c) {
			return errMalformed
		}
	}
	switch string(name) { // no allocation: the compiler compares in place
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return errMalformed // §8.2.2: connection-specific
	case "te":
		if string(value) != "trailers" {
			return errMalformed
		}
	case "content-length":
		n, ok := web.ParseLength(value)
		if !ok || s.length >= 0 && s.length != n {
			return errMalformed
		}
		s.length = n
	case "cookie":
		// §8.2.3: crumbs split across fields are joined with "; " for
		// the handler, as HTTP/1.1 sends them.
		p := *s.pseudo
		if s.cookies == 0 {
			s.cookie[0] = len(p)
		} else {
			p = append(p, ';', ' ')
		}
		p = append(p, value...)
		s.cookie[1] = len(p)
		*s.pseudo = p
		s.cookies++
		return nil
	}
	if s.trailers {
		s.req.Trailer.AddTrusted(name, value)
	} else {
		s.req.Header.AddTrusted(name, value)
	}
	return nil
}

func (s *requestSink) pseudoField(name, value []byte) error {
	if s.regular || s.trailers {
		return errMalformed // §8.3: pseudo-headers come first, never in trailers
	}
	var bit uint8
	var span *[2]int
	switch string(name) {
	case ":method":
		bit, span = pseudoMethod, &s.method
	case ":scheme":
		bit, span = pseudoScheme, &s.scheme
	case ":path":
		bit, span = pseudoPath, &s.path
	case ":authority":
		bit, span = pseudoAuthority, &s.authority
	case ":protocol":
		bit, span = pseudoProtocol, &s.protocol
	default:
		return errMalformed
	}
	if s.seen&bit != 0 {
		return errMalformed
	}
	s.seen |= bit
	span[0] = len(*s.pseudo)
	*s.pseudo = append(*s.pseudo, value...)
	span[1] = len(*s.pseudo)
	return nil
}

// validValue: RFC 9113 §8.2.1, no NUL, CR or LF, and no leading or
// trailing whitespace. Other control bytes are refused too, as on HTTP/1.
func validValue(v []byte) bool {
	if len(v) > 0 && (web.IsOWS(v[0]) || web.IsOWS(v[len(v)-1])) {
		return false
	}
	return web.ValidFieldValue(v)
}

// finish checks the request as a whole and points req's fields at the
// pseudo-header values. It returns errMalformed for a request RFC 9113
// §8.3.1 calls malformed.
func (s *requestSink) finish() error {
	if s.err != nil {
		return s.err
	}
	p := *s.pseudo
	span := func(sp [2]int) []byte { return p[sp[0]:sp[1]:sp[1]] }
	r := s.req
	if s.trailers {
		if s.seen != 0 {
			return errMalformed
		}
		return nil
	}
	if s.cookies > 0 {
		r.Header.AddTrusted(cookieName, span(s.cookie))
	}
	if s.seen&pseudoMethod == 0 {
		return errMalformed
	}
	r.Method = span(s.method)
	if !web.IsToken(r.Method) {
		return errMalformed
	}
	r.ContentLength = s.length
	if s.seen&pseudoAuthority != 0 {
		r.Authority = span(s.authority)
		if len(r.Authority) == 0 || !validAuthority(r.Authority) {
			return errMalformed
		}
		if host := r.Header.Get("host"); host == nil {
			// Handlers and gateways (CGI's HTTP_HOST) read the Host field.
			r.Header.AddTrusted(hostName, r.Authority)
		} else if !web.EqualFold(host, string(r.Authority)) {
			// §8.3.1: a Host naming another entity than :authority.
			return errMalformed
		}
	} else if host := r.Header.Get("host"); host != nil {
		if !validAuthority(host) {
			return errMalformed
		}
		r.Authority = host
	}
	if s.seen&pseudoProtocol != 0 {
		// RFC 8441 §4: an extended CONNECT names a protocol (websocket)
		// and carries :scheme, :path and :authority like any request.
		if string(r.Method) != "CONNECT" || s.seen != pseudoMethod|pseudoScheme|pseudoPath|pseudoAuthority|pseudoProtocol {
			return errMalformed
		}
		if r.Protocol = span(s.protocol); !web.IsToken(r.Protocol) {
			return errMalformed
		}
	} else if string(r.Method) == "CONNECT" {
		// §8.5: only :method and :authority. nave serves no tunnels; the
		// handler answers (405 from most).
		if s.seen != pseudoMethod|pseudoAuthority {
			return errMalformed
		}
		r.Target, r.Path = r.Authority, nil
		return nil
	}
	if s.seen&(pseudoScheme|pseudoPath) != pseudoScheme|pseudoPath {
		return errMalformed
	}
	scheme := span(s.scheme)
	if len(scheme) == 0 || !validScheme(scheme) {
		return errMalformed
	}
	path := span(s.path)
	switch {
	case len(path) == 0:
		return errMalformed
	case path[0] == '*':
		// §8.3.1: "*" only for OPTIONS.
		if len(path) != 1 || string(r.Method) != "OPTIONS" {
			return errMalformed
		}
	case path[0] != '/':
		return errMalformed
	}
	for _, c := range path {
		if c <= ' ' || c == 0x7f || c == '#' {
			return errMalformed
		}
	}
	r.Target = path
	r.Path, r.Query = path, nil
	for i, c := range path {
		if c == '?' {
			r.Path, r.Query = path[:i], path[i+1:]
			break
		}
	}
	return nil
}

var (
	cookieName = []byte("cookie")
	hostName   = []byte("host")
)

func validScheme(b []byte) bool {
	for i, c := range b {
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !alpha && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// validAuthority accepts what an HTTP/1 Host field may hold: reg-name or
// IP-literal characters and a port, no userinfo (RFC 9113 §8.3.1).
func validAuthority(b []byte) bool {
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_', c == '~', c == '%':
		case c == '!', c == '$', c == '&', c == '\'', c == '(', c == ')', c == '*', c == '+', c == ',', c == ';', c == '=':
		default:
			return false
		}
	}
	return true
}

package wsgi

import (
	"net/netip"
	"strconv"

	"nave/internal/web"
)

// The environ travels as one blob of NUL-separated key/value pairs,
// "KEY\x00value\x00KEY\x00value", which the adapter decodes as latin-1 and
// turns into a dict in one step over a copy of a base dict holding the
// constant wsgi.* keys. Every key is computed here, in Go. A value cannot
// hold NUL: http1 refuses it in header values, the method and the target,
// and the handler refuses a path whose decoding has one.

// scriptAndPath appends SCRIPT_NAME and PATH_INFO to dst, each decoded
// once (PEP 3333), split where the router mounted the app: the first
// script bytes are SCRIPT_NAME.
func scriptAndPath(dst []byte, r *web.Request) (path []byte, script int) {
	prefix := r.Prefix()
	dst = web.AppendUnescaped(dst, prefix)
	script = len(dst)
	return web.AppendUnescaped(dst, r.Path[len(prefix):]), script
}

// envRequest is what appendEnviron needs beyond the request itself.
type envRequest struct {
	scriptName []byte // decoded: the mount, "" at the root
	pathInfo   []byte // decoded, after the mount
	bodyLen    int64  // CONTENT_LENGTH, or -1 to leave it out
}

// appendEnviron appends r's CGI and HTTP_* variables (PEP 3333, RFC 3875
// §4.1) to b as NUL-separated pairs.
func appendEnviron(b []byte, r *web.Request, e *envRequest) []byte {
	b = appendPair(b, "REQUEST_METHOD", r.Method)
	b = appendPair(b, "SCRIPT_NAME", e.scriptName)
	b = appendPair(b, "PATH_INFO", e.pathInfo)
	b = appendPair(b, "QUERY_STRING", r.Query)
	b = appendPair(b, "REQUEST_URI", r.Target)
	b = appendPair(b, "SERVER_PROTOCOL", r.Proto.String())
	b = appendServer(b, r)
	// The scheme and client are the ones trusted proxies name
	// (web.Request.ClientAddr), as gunicorn's forwarded_allow_ips and
	// Werkzeug's ProxyFix give them.
	if r.ClientScheme() == "https" {
		// As gunicorn and uWSGI: the scheme, and CGI's HTTPS flag.
		b = appendPair(b, "wsgi.url_scheme", "https")
		b = appendPair(b, "HTTPS", "on")
	}
	if client := r.ClientAddr(); client.IsValid() {
		b = append(b, "REMOTE_ADDR\x00"...)
		b = client.Addr().Unmap().AppendTo(b)
		b = append(b, 0)
		if client.Port() != 0 { // a proxy's X-Forwarded-For names no port
			b = appendPort(b, "REMOTE_PORT", client)
		}
	}
	if e.bodyLen >= 0 {
		b = append(b, "CONTENT_LENGTH\x00"...)
		b = strconv.AppendInt(b, e.bodyLen, 10)
		b = append(b, 0)
	}
	b = appendHeaders(b, &r.Header)
	b = appendID(b, r)
	return b[:len(b)-1] // the last pair's NUL
}

// appendServer appends SERVER_NAME, from the Host (without its port) or
// else the local address, and SERVER_PORT, the port the request came in
// on (RFC 3875 §4.1.14, §4.1.15).
func appendServer(b []byte, r *web.Request) []byte {
	b = append(b, "SERVER_NAME\x00"...)
	switch host := web.Hostname(r.Authority); {
	case len(host) > 0:
		b = append(b, host...)
	case r.LocalAddr.IsValid():
		b = r.LocalAddr.Addr().Unmap().AppendTo(b)
	default:
		b = append(b, "localhost"...)
	}
	b = append(b, 0)
	if r.LocalAddr.IsValid() {
		return appendPort(b, "SERVER_PORT", r.LocalAddr)
	}
	return appendPair(b, "SERVER_PORT", "80")
}

func appendPort(b []byte, key string, ap netip.AddrPort) []byte {
	b = append(b, key...)
	b = append(b, 0)
	b = strconv.AppendUint(b, uint64(ap.Port()), 10)
	return append(b, 0)
}

func appendPair[T string | []byte](b []byte, key string, value T) []byte {
	b = append(b, key...)
	b = append(b, 0)
	b = append(b, value...)
	return append(b, 0)
}

// appendHeaders appends one HTTP_* variable per field name, repeated
// fields joined with ", " in order (RFC 9110 §5.3), Cookie fields with
// "; " (RFC 6265 §5.4: a cookie list is not a comma list).
//
// Left out: Content-Length (CONTENT_LENGTH is the length of the body the
// app gets, which nave has read and de-chunked), Transfer-Encoding (the app
// gets no chunked framing), names with "_" (X_Forwarded_For would become
// the same variable as X-Forwarded-For: a spoofing vector nginx and
// gunicorn also close), and Proxy ("httpoxy": HTTP_PROXY is read as a proxy
// setting by some libraries).
func appendHeaders(b []byte, h *web.Header) []byte {
	n := h.Len()
	for i := range n {
		name, value := h.At(i)
		if !wantHeader(name) || seenBefore(h, i, name) {
			continue
		}
		if web.EqualFold(name, "Content-Type") {
			b = append(b, "CONTENT_TYPE"...)
		} else {
			b = appendHTTPName(b, name)
		}
		b = append(b, 0)
		b = append(b, value...)
		sep := ", "
		if web.EqualFold(name, "Cookie") {
			sep = "; "
		}
		for j := i + 1; j < n; j++ {
			if other, v := h.At(j); web.EqualFold(other, name) {
				b = append(b, sep...)
				b = append(b, v...)
			}
		}
		b = append(b, 0)
	}
	return b
}

// appendHTTPName appends a field name as its HTTP_* variable's name.
func appendHTTPName[T string | []byte](b []byte, name T) []byte {
	b = append(b, "HTTP_"...)
	for i := range len(name) {
		switch c := name[i]; {
		case c == '-':
			b = append(b, '_')
		case 'a' <= c && c <= 'z':
			b = append(b, c-('a'-'A'))
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendID appends the request's id as HTTP_X_REQUEST_ID (for the
// default field name): reqid took the client's field out of the header.
func appendID(b []byte, r *web.Request) []byte {
	if r.IDField == "" || r.ID() == nil {
		return b
	}
	b = appendHTTPName(b, r.IDField)
	b = append(b, 0)
	b = append(b, r.ID()...)
	return append(b, 0)
}

func wantHeader(name []byte) bool {
	for _, c := range name {
		if c == '_' {
			return false
		}
	}
	return !web.EqualFold(name, "Content-Length") && !web.EqualFold(name, "Transfer-Encoding") && !web.EqualFold(name, "Proxy")
}

func seenBefore(h *web.Header, i int, name []byte) bool {
	for j := range i {
		if other, _ := h.At(j); web.EqualFold(other, name) {
			return true
		}
	}
	return false
}

package proxy

import (
	"crypto/rand"
	"encoding/base64"
	"net/netip"
	"strconv"

	"nave/internal/web"
)

// appendRequest renders the head of r as sent to the server: the request
// line, the client's fields less the hop-by-hop ones (RFC 9110 §7.6.1) and
// the forwarding ones nave does not trust, then Host, the framing, Via
// (§7.6.3), X-Forwarded-For/Proto/Host, Forwarded (RFC 7239) and
// X-Request-Start.
func (h *Handler) appendRequest(b []byte, r *web.Request, s *server, upgrade bool) []byte {
	extended := upgrade && r.Protocol != nil
	if extended {
		b = append(b, "GET "...) // RFC 8441 §5: the HTTP/1.1 form of extended CONNECT
	} else {
		b = append(b, r.Method...)
		b = append(b, ' ')
	}
	b = h.appendTarget(b, r)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	switch {
	case h.cfg.Host != "":
		b = append(b, h.cfg.Host...)
	case len(r.Authority) > 0:
		b = append(b, r.Authority...)
	default:
		b = append(b, s.addr...)
	}
	b = append(b, '\r', '\n')
	// A request from one of its listener's trusted proxies (marked so by
	// the listener: web.Request.FromProxy) has its X-Forwarded-*,
	// Forwarded and X-Request-Start believed and extended; everyone
	// else's are replaced.
	trusted := r.FromProxy
	connection := namesFields(&r.Header)
	cookies := false
	for i := range r.Header.Len() {
		name, value := r.Header.At(i)
		if skipRequestField(name, trusted) || connection && listed(&r.Header, name) {
			continue
		}
		if r.Proto == web.HTTP2 && web.EqualFold(name, "cookie") {
			if !cookies {
				b = appendCookies(b, &r.Header)
				cookies = true
			}
			continue
		}
		b = appendField(b, name, value)
	}
	if id := r.ID(); id != nil && r.IDField != "" {
		// reqid took the client's field out of the header.
		b = appendField(b, r.IDField, id)
	}
	switch {
	case extended:
		b = append(b, "Connection: Upgrade\r\nUpgrade: "...)
		b = append(b, r.Protocol...)
		b = append(b, "\r\nSec-WebSocket-Key: "...)
		b = appendKey(b)
		b = append(b, '\r', '\n')
	case upgrade:
		b = append(b, "Connection: Upgrade\r\nUpgrade: "...)
		b = append(b, r.Header.Get("Upgrade")...)
		b = append(b, '\r', '\n')
	case r.ContentLength > 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, r.ContentLength, 10)
		b = append(b, '\r', '\n')
	case r.ContentLength < 0:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	b = h.appendForwarded(b, r, trusted)
	return append(b, '\r', '\n')
}

// appendTarget appends the path (less the mount prefix with StripPrefix)
// and query.
func (h *Handler) appendTarget(b []byte, r *web.Request) []byte {
	path := r.Path
	if h.cfg.StripPrefix {
		path = r.PathInfo()
	}
	if len(path) == 0 {
		path = slash
	}
	b = append(b, path...)
	if r.Query != nil {
		b = append(b, '?')
		b = append(b, r.Query...)
	}
	return b
}

var slash = []byte{'/'}

// appendClient appends the client's address, or "unknown" (RFC 7239
// §6) for a client with none: a peer on a Unix socket.
func appendClient(b []byte, addr netip.Addr) []byte {
	if !addr.IsValid() {
		return append(b, "unknown"...)
	}
	return addr.AppendTo(b)
}

// appendForwarded appends Via and the forwarding fields, each extending
// the client's when the client is a trusted proxy, replacing it otherwise
// (skipRequestField dropped the client's then).
func (h *Handler) appendForwarded(b []byte, r *web.Request, trusted bool) []byte {
	addr := r.RemoteAddr.Addr().Unmap()
	b = append(b, "Via: "...)
	if v := r.Header.Get("Via"); v != nil {
		b = append(b, v...)
		b = append(b, ", "...)
	}
	b = append(b, r.Proto.Version()...)
	b = append(b, " nave\r\nX-Forwarded-For: "...)
	if v := r.Header.Get("X-Forwarded-For"); trusted && v != nil {
		b = append(b, v...)
		b = append(b, ", "...)
	}
	b = appendClient(b, addr)
	b = append(b, "\r\nX-Forwarded-Proto: "...)
	if v := r.Header.Get("X-Forwarded-Proto"); trusted && v != nil {
		b = append(b, v...)
	} else {
		b = append(b, scheme(r)...)
	}
	if v := r.Header.Get("X-Forwarded-Host"); trusted && v != nil {
		b = append(b, "\r\nX-Forwarded-Host: "...)
		b = append(b, v...)
	} else if len(r.Authority) > 0 {
		b = append(b, "\r\nX-Forwarded-Host: "...)
		b = append(b, r.Authority...)
	}
	b = append(b, "\r\nForwarded: "...)
	if v := r.Header.Get("Forwarded"); trusted && v != nil {
		b = append(b, v...)
		b = append(b, ", "...)
	}
	b = append(b, "for="...)
	if addr.Is6() {
		b = append(b, `"[`...)
		b = addr.AppendTo(b)
		b = append(b, `]"`...)
	} else {
		b = appendClient(b, addr)
	}
	if len(r.Authority) > 0 && quotable(r.Authority) {
		b = append(b, `;host="`...)
		b = append(b, r.Authority...)
		b = append(b, '"')
	}
	b = append(b, ";proto="...)
	b = append(b, scheme(r)...)
	if v := r.Header.Get("X-Request-Start"); trusted && v != nil {
		b = append(b, "\r\nX-Request-Start: "...)
		b = append(b, v...)
	} else {
		b = append(b, "\r\nX-Request-Start: t="...)
		b = strconv.AppendInt(b, r.Start.UnixMicro(), 10)
	}
	return append(b, '\r', '\n')
}

func scheme(r *web.Request) string {
	if r.Scheme == "" {
		if r.TLS != nil {
			return "https"
		}
		return "http"
	}
	return r.Scheme
}

// quotable reports whether v can go in a quoted-string as it is.
func quotable(v []byte) bool {
	for _, c := range v {
		if c == '"' || c == '\\' || !web.IsValueChar(c) {
			return false
		}
	}
	return true
}

// skipRequestField reports whether a client's field is not passed on as
// it is: hop-by-hop fields, the ones nave writes itself, and the
// forwarding fields of a client that is not trusted.
func skipRequestField(name []byte, trusted bool) bool {
	switch len(name) {
	case 2:
		return web.EqualFold(name, "te")
	case 3:
		return web.EqualFold(name, "via")
	case 4:
		return web.EqualFold(name, "host")
	case 6:
		return web.EqualFold(name, "expect") // nave answers 100-continue itself as it reads the body
	case 7:
		return web.EqualFold(name, "upgrade") || web.EqualFold(name, "trailer")
	case 9:
		return web.EqualFold(name, "forwarded") || !trusted && web.EqualFold(name, "x-real-ip")
	case 10:
		return web.EqualFold(name, "connection") || web.EqualFold(name, "keep-alive")
	case 14:
		return web.EqualFold(name, "content-length")
	case 15:
		return web.EqualFold(name, "x-forwarded-for")
	case 16:
		return web.EqualFold(name, "proxy-connection") || web.EqualFold(name, "x-forwarded-host")
	case 17:
		return web.EqualFold(name, "transfer-encoding") || web.EqualFold(name, "x-forwarded-proto") ||
			web.EqualFold(name, "x-request-start")
	}
	return false
}

// hopByHop reports whether a response field is the connection's, not the
// message's (RFC 9110 §7.6.1).
func hopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return web.EqualFold(name, "te")
	case 7:
		return web.EqualFold(name, "upgrade") || web.EqualFold(name, "trailer")
	case 10:
		return web.EqualFold(name, "connection") || web.EqualFold(name, "keep-alive")
	case 16:
		return web.EqualFold(name, "proxy-connection")
	case 17:
		return web.EqualFold(name, "transfer-encoding")
	}
	return false
}

// listed reports whether name is named in one of h's Connection fields,
// and so is hop-by-hop (RFC 9110 §7.6.1).
func listed(h *web.Header, name []byte) bool {
	for i := range h.Len() {
		n, v := h.At(i)
		if web.EqualFold(n, "connection") {
			for item, rest, ok := web.NextListItem(v); ok; item, rest, ok = web.NextListItem(rest) {
				if web.EqualFold(item, name) {
					return true
				}
			}
		}
	}
	return false
}

// namesFields reports whether h's Connection fields name any field
// beyond the options every message may carry (close, keep-alive,
// upgrade), whose fields are dropped anyway: usually they do not, and
// then no field need be looked up in them.
func namesFields(h *web.Header) bool {
	for i := range h.Len() {
		n, v := h.At(i)
		if !web.EqualFold(n, "connection") {
			continue
		}
		for item, rest, ok := web.NextListItem(v); ok; item, rest, ok = web.NextListItem(rest) {
			if !web.EqualFold(item, "close") && !web.EqualFold(item, "keep-alive") && !web.EqualFold(item, "upgrade") {
				return true
			}
		}
	}
	return false
}

// copyFields adds src's end-to-end fields to dst.
func copyFields(dst, src *web.Header) {
	connection := namesFields(src)
	for i := range src.Len() {
		name, value := src.At(i)
		if hopByHop(name) || connection && listed(src, name) {
			continue
		}
		dst.AddTrusted(name, value)
	}
}

func appendField[N, V string | []byte](b []byte, name N, value V) []byte {
	b = append(b, name...)
	b = append(b, ':', ' ')
	b = append(b, value...)
	return append(b, '\r', '\n')
}

// appendKey appends a fresh Sec-WebSocket-Key (RFC 6455 §4.1): an HTTP/2
// WebSocket has none, and the HTTP/1.1 server wants one.
func appendKey(b []byte) []byte {
	var k [16]byte
	rand.Read(k[:])
	return base64.StdEncoding.AppendEncode(b, k[:])
}

// appendCookies joins an HTTP/2 request's cookie fields into one, as
// HTTP/1.1 wants (RFC 9113 §8.2.3).
func appendCookies(b []byte, h *web.Header) []byte {
	b = append(b, "Cookie: "...)
	first := true
	for i := range h.Len() {
		name, value := h.At(i)
		if !web.EqualFold(name, "cookie") {
			continue
		}
		if !first {
			b = append(b, "; "...)
		}
		b = append(b, value...)
		first = false
	}
	return append(b, '\r', '\n')
}

package web

import (
	"crypto/tls"
	"io"
	"net/netip"
	"time"
)

// Handler answers one request. It reads r (and r.Body, if it wants the
// body) and writes the response to w, streaming if it likes. Both are
// valid only until Serve returns. A Handler that panics gets the client a
// 500 (if nothing was sent yet) and the exchange aborted.
type Handler interface {
	Serve(w *ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *ResponseWriter, r *Request)

// Serve calls f(w, r).
func (f HandlerFunc) Serve(w *ResponseWriter, r *Request) { f(w, r) }

// Proto is the protocol a request came over.
type Proto uint8

// The protocols.
const (
	HTTP11 Proto = iota // the zero value
	HTTP10
	HTTP2
	HTTP3
)

// String is the protocol's name as in a request line and SERVER_PROTOCOL.
func (p Proto) String() string {
	switch p {
	case HTTP10:
		return "HTTP/1.0"
	case HTTP2:
		return "HTTP/2.0"
	case HTTP3:
		return "HTTP/3.0"
	}
	return "HTTP/1.1"
}

// Version is the protocol's version as Via (RFC 9110 §7.6.3) and ASGI's
// http_version write it: "1.0", "1.1", "2", "3".
func (p Proto) Version() string {
	switch p {
	case HTTP10:
		return "1.0"
	case HTTP2:
		return "2"
	case HTTP3:
		return "3"
	}
	return "1.1"
}

// Request is one request, as every protocol delivers it. Its byte slices
// alias the protocol's buffers: they are valid only until the Handler
// returns.
type Request struct {
	Method []byte // a token, case-sensitive
	Scheme string // "http" or "https"
	// Authority is the host (and port) the request names: an absolute-form
	// target's authority or the Host field on HTTP/1, :authority on HTTP/2.
	// It may be empty on HTTP/1.0.
	Authority []byte
	Target    []byte // the request-target as received (HTTP/2: :path)
	// Path is the path of the target, still percent-encoded: it starts
	// with "/" for origin- and absolute-form, is "*" for asterisk-form and
	// empty for CONNECT's authority-form.
	Path  []byte
	Query []byte // after "?", without it; nil when the target has no "?"
	// Protocol is an HTTP/2 extended CONNECT's :protocol (RFC 8441 §4),
	// "websocket" for a WebSocket; nil on every other request.
	Protocol      []byte
	Proto         Proto
	Header        Header
	Trailer       Header // filled once Body has been read to its end
	ContentLength int64  // -1 when unknown (chunked, or HTTP/2 without content-length)
	// Body reads the request body; at its end it returns io.EOF. Errors
	// reading it (a client that stalls or sends a malformed body) map to a
	// status through StatusOf.
	Body       io.Reader
	RemoteAddr netip.AddrPort
	LocalAddr  netip.AddrPort
	TLS        *tls.ConnectionState // nil on cleartext
	Start      time.Time            // when the request began arriving
	// Arrived, when not zero, is a time by which the whole request head
	// had been read: what is true of the world at or after Arrived is a
	// fair answer to the request, so a cache checked since then need not
	// be checked again for it. HTTP/2 sets it to the time of the read that
	// brought the head in; HTTP/1.1 leaves it zero.
	Arrived time.Time
	// FromProxy: the client (RemoteAddr) is one of its listener's trusted
	// proxies, so the forwarding fields it sends (X-Forwarded-*,
	// Forwarded) may be believed and passed on, and its request id kept.
	// Whoever knows the listener's trust sets it, with TrustProxies,
	// before the handlers run (nave run's listener handler); false trusts
	// no one.
	FromProxy bool
	// forwardedFor and forwardedProto are what trusted proxies say of the
	// client (TrustProxies): ClientAddr and ClientScheme.
	forwardedFor   netip.AddrPort
	forwardedProto string
	// Note is what handlers tell the access log about the request.
	Note Note
	// IDField is the name of the header field the request's id travels
	// in (X-Request-ID), or "" when request ids are off. A server that
	// assigns ids sets it with SetID before the Handler runs, and removes
	// the client's own field from Header: a gateway passes ID() on under
	// IDField, and the ResponseWriter sends it back.
	IDField string

	mount int // len(Prefix()): set by SetMount
	idLen uint8
	id    [MaxIDLen]byte
}

// MaxIDLen is the longest request id SetID keeps.
const MaxIDLen = 128

// Note is what a handler records for the access log, set once on the
// handler's goroutine (or before the handler reads the reply that
// follows it). The zero value says nothing.
type Note struct {
	// Dispatched is when a worker took the request (WSGI, ASGI): the
	// queue wait is Dispatched - Start. Zero when no worker took it.
	Dispatched time.Time
	// Upstream is the address of the upstream server that answered (a
	// proxy route), as configured; "" when none did.
	Upstream string
	// UpstreamTime runs from the request going to Upstream until its
	// response was relayed whole, as nginx's $upstream_response_time.
	UpstreamTime time.Duration
}

// SetID makes id the request's id, carried in field name. An id longer
// than MaxIDLen is cut to it; callers check ids for sanity first.
func (r *Request) SetID(name string, id []byte) {
	r.IDField = name
	r.idLen = uint8(copy(r.id[:], id))
}

// ID is the request's id, or nil when it has none.
func (r *Request) ID() []byte {
	if r.idLen == 0 {
		return nil
	}
	return r.id[:r.idLen]
}

// QueueWait is how long the request waited, from its arrival, for a
// worker to take it; 0 when no worker did.
func (r *Request) QueueWait() time.Duration {
	if r.Note.Dispatched.IsZero() {
		return 0
	}
	return max(r.Note.Dispatched.Sub(r.Start), 0)
}

// Reset clears r for the next request, keeping the capacity of its headers.
func (r *Request) Reset() {
	h, t := r.Header, r.Trailer
	h.Reset()
	t.Reset()
	*r = Request{Header: h, Trailer: t}
}

// SetMount records that the first n bytes of Path are the prefix the
// handler is mounted at (as "/static"), which a router matched. n must be
// at most len(Path).
func (r *Request) SetMount(n int) { r.mount = n }

// Prefix is the part of Path a router matched, without a trailing "/":
// "" when the handler is mounted at the root. Still percent-encoded.
func (r *Request) Prefix() []byte { return r.Path[:r.mount] }

// PathInfo is the rest of Path under the mount, "/" or starting with "/"
// when the path is under a prefix, as CGI's PATH_INFO. Still
// percent-encoded.
func (r *Request) PathInfo() []byte {
	rest := r.Path[r.mount:]
	if len(rest) == 0 && r.mount > 0 {
		return slash
	}
	return rest
}

var slash = []byte{'/'}

// Hostname drops the port from an authority (a Host value); an IP-literal
// keeps its brackets, as in a URL.
func Hostname(authority []byte) []byte {
	if len(authority) > 0 && authority[0] == '[' {
		for i, c := range authority {
			if c == ']' {
				return authority[:i+1]
			}
		}
		return authority
	}
	for i := len(authority) - 1; i >= 0; i-- {
		if authority[i] == ':' {
			return authority[:i]
		}
	}
	return authority
}

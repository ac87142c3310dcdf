// Package reqid gives each request an id, the X-Request-ID convention of
// Heroku's router, Rails and nginx's $request_id: the one a trusted proxy
// in front sent, when it is sane, or a new one. The id is logged,
// passed to apps and upstreams, and sent back (web.Request.SetID says
// how), so that one request can be followed through every log it touches.
//
// It imports web and the standard library only.
package reqid

import (
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"

	"nave/internal/web"
)

// DefaultField is the header field ids travel in.
const DefaultField = "X-Request-ID"

// idLen is the length of a generated id: 32 hex digits, as nginx's
// $request_id.
const idLen = 32

// Handler assigns each request its id, then calls Next. Its Serve is
// safe for concurrent use.
type Handler struct {
	next   web.Handler
	field  string
	prefix [idLen / 2]byte // hex of 8 random bytes: this process's ids
	n      atomic.Uint64   // ids generated so far
}

// New returns a Handler that takes the id in field from trusted proxies
// (web.Request.FromProxy, set before it runs) and generates it for the
// others. field must be a valid field name.
func New(field string, next web.Handler) *Handler {
	h := &Handler{next: next, field: field}
	var seed [len(h.prefix) / 2]byte
	rand.Read(seed[:]) // never fails (crypto/rand's contract since Go 1.24)
	hex.Encode(h.prefix[:], seed[:])
	return h
}

// Serve assigns r its id and lets Next answer.
func (h *Handler) Serve(w *web.ResponseWriter, r *web.Request) {
	h.Assign(r)
	h.next.Serve(w, r)
}

// Assign sets r's id: the client's, when the client is a trusted proxy
// (r.FromProxy) and the id is sane, otherwise a new one. The client's
// field is removed from r.Header either way (web.Request.IDField).
func (h *Handler) Assign(r *web.Request) {
	if v := r.Header.Get(h.field); v != nil {
		if Sane(v) && r.FromProxy {
			r.SetID(h.field, v)
			r.Header.Del(h.field)
			return
		}
		r.Header.Del(h.field)
	}
	var id [idLen]byte
	h.generate(&id)
	r.SetID(h.field, id[:])
}

// generate writes a new id: this process's random prefix, then a counter,
// both in hex. Unique within the process by the counter, across processes
// and restarts by the prefix (64 random bits).
func (h *Handler) generate(id *[idLen]byte) {
	const digits = "0123456789abcdef"
	copy(id[:], h.prefix[:])
	n := h.n.Add(1)
	for i := idLen - 1; i >= len(h.prefix); i-- {
		id[i] = digits[n&0xf]
		n >>= 4
	}
}

// Sane reports whether a received id may be kept: 1 to web.MaxIDLen
// visible ASCII characters, so that it cannot break a log line or a
// header, nor bloat either.
func Sane(id []byte) bool {
	if len(id) == 0 || len(id) > web.MaxIDLen {
		return false
	}
	for _, c := range id {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

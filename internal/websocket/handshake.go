package websocket

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strconv"

	"nave/internal/web"
)

// Errors of the handshake and of a Conn.
var (
	// ErrNotWebSocket: the request is not a WebSocket opening handshake
	// at all (no Upgrade: websocket, no extended CONNECT).
	ErrNotWebSocket = errors.New("websocket: not a websocket handshake")
	// ErrSubprotocol: Accept was given a subprotocol the client did not
	// offer (a programming error in the caller).
	ErrSubprotocol = errors.New("websocket: subprotocol not offered by the client")
	// ErrClosed: Write after the close handshake began, or Read after it
	// ended.
	ErrClosed = errors.New("websocket: connection closed")
	// ErrCloseCode: Close with a code an endpoint may not send, or a
	// reason longer than 123 bytes or not UTF-8.
	ErrCloseCode = errors.New("websocket: invalid close code or reason")
)

// HandshakeError is a request that asks for a WebSocket but is not a valid
// opening handshake. Status is the response it calls for (400, or 426 for
// an unsupported version); Reason is a fixed phrase, never request bytes.
type HandshakeError struct {
	Status int
	Reason string
}

func (e *HandshakeError) Error() string { return "websocket: " + e.Reason }

func badHandshake(reason string) error { return &HandshakeError{Status: 400, Reason: reason} }

// Handshake is a valid opening handshake, parsed; Accept completes it.
// Its strings are copies: it may outlive the request.
type Handshake struct {
	// Subprotocols are the Sec-WebSocket-Protocol values the client
	// offered, in its order of preference.
	Subprotocols []string
	// Extensions are the Sec-WebSocket-Extensions offers as received, one
	// per offer ("permessage-deflate; client_max_window_bits").
	Extensions []string

	h2     bool
	accept string  // Sec-WebSocket-Accept for the key (HTTP/1.1)
	offers []offer // the valid permessage-deflate offers
}

// keyGUID is RFC 6455 §1.3's GUID, appended to the key before hashing.
const keyGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Parse checks a request for a WebSocket opening handshake: on HTTP/1.1,
// GET with Upgrade: websocket, Connection: upgrade, Sec-WebSocket-Version:
// 13 and a Sec-WebSocket-Key of 16 bytes in base64 (RFC 6455 §4.2.1); on
// HTTP/2, an extended CONNECT (Method CONNECT, Protocol websocket, RFC 8441
// §5) with Sec-WebSocket-Version: 13. It returns ErrNotWebSocket for a
// request that does not ask for a WebSocket, and a *HandshakeError for one
// that asks badly.
func Parse(r *web.Request) (*Handshake, error) {
	hs := &Handshake{}
	if r.Proto == web.HTTP2 {
		if string(r.Method) != "CONNECT" || !web.EqualFold(r.Protocol, "websocket") {
			return nil, ErrNotWebSocket
		}
		hs.h2 = true
	} else {
		if !hasToken(&r.Header, "Upgrade", "websocket") {
			return nil, ErrNotWebSocket
		}
		if string(r.Method) != "GET" {
			return nil, badHandshake("websocket handshake must be GET") // RFC 6455 §4.1 item 2
		}
		if r.Proto != web.HTTP11 {
			return nil, badHandshake("websocket needs HTTP/1.1")
		}
		if !hasToken(&r.Header, "Connection", "upgrade") {
			return nil, badHandshake("websocket handshake without Connection: upgrade")
		}
	}
	// RFC 6455 §4.4: a version other than 13 gets 426 and the versions
	// nave speaks (Refuse adds Sec-WebSocket-Version).
	if v, n := single(&r.Header, "Sec-WebSocket-Version"); n != 1 || string(v) != "13" {
		return nil, &HandshakeError{Status: 426, Reason: "websocket version 13 required"}
	}
	if !hs.h2 {
		key, n := single(&r.Header, "Sec-WebSocket-Key")
		if n != 1 || !validKey(key) {
			return nil, badHandshake("websocket handshake without a valid key")
		}
		hs.accept = acceptKey(key)
	}
	for v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for item, rest, ok := web.NextListItem(v); ok; item, rest, ok = web.NextListItem(rest) {
			if !web.IsToken(item) {
				return nil, badHandshake("websocket subprotocol is not a token")
			}
			hs.Subprotocols = append(hs.Subprotocols, string(item))
		}
	}
	for v := range r.Header.Values("Sec-WebSocket-Extensions") {
		for item, rest, ok := nextExtension(v); ok; item, rest, ok = nextExtension(rest) {
			hs.Extensions = append(hs.Extensions, string(item))
			if o, ok := parseOffer(item); ok {
				hs.offers = append(hs.offers, o)
			}
		}
	}
	return hs, nil
}

// hasToken reports whether any field named name lists token.
func hasToken(h *web.Header, name, token string) bool {
	for v := range h.Values(name) {
		if web.HasToken(v, token) {
			return true
		}
	}
	return false
}

// single returns the value of the field named name and how many there are.
func single(h *web.Header, name string) (v []byte, n int) {
	for x := range h.Values(name) {
		v = x
		n++
	}
	return v, n
}

// validKey: RFC 6455 §4.2.1 item 5, base64 of 16 bytes.
func validKey(key []byte) bool {
	if len(key) != 24 {
		return false
	}
	var dst [18]byte
	n, err := base64.StdEncoding.Decode(dst[:], key)
	return err == nil && n == 16
}

// acceptKey is RFC 6455 §4.2.2 item 5.4's Sec-WebSocket-Accept.
func acceptKey(key []byte) string {
	h := sha1.New()
	h.Write(key)
	h.Write([]byte(keyGUID))
	var sum [sha1.Size]byte
	return base64.StdEncoding.EncodeToString(h.Sum(sum[:0]))
}

// Compression reports whether the client offered permessage-deflate in a
// form nave can accept.
func (hs *Handshake) Compression() bool { return len(hs.offers) > 0 }

// Accept completes the handshake: on HTTP/1.1 a 101 with Upgrade,
// Connection and Sec-WebSocket-Accept, on HTTP/2 a 200 (RFC 8441 §5: no
// Sec-WebSocket-Accept there), with the chosen subprotocol ("" for none;
// else one the client offered), permessage-deflate if the client offered
// it and opts allow, and the fields of extra (which may be nil); fields
// of extra that the handshake owns (Upgrade, Connection,
// Sec-WebSocket-*) are dropped. It returns a Conn over the upgraded
// connection, which is the caller's until the handler returns.
func (hs *Handshake) Accept(w *web.ResponseWriter, subprotocol string, extra *web.Header, opts Options) (*Conn, error) {
	if subprotocol != "" && !offered(hs.Subprotocols, subprotocol) {
		return nil, ErrSubprotocol
	}
	h := w.Header()
	if extra != nil {
		for name, value := range extra.All() {
			if !ownedField(name) {
				h.AddBytes(string(name), value)
			}
		}
	}
	if !hs.h2 {
		h.Set("Upgrade", "websocket")
		h.Set("Connection", "Upgrade")
		h.Set("Sec-WebSocket-Accept", hs.accept)
	}
	if subprotocol != "" {
		h.Set("Sec-WebSocket-Protocol", subprotocol)
	}
	var d *deflate
	if opts.Compression && len(hs.offers) > 0 {
		o := hs.offers[0]
		h.Set("Sec-WebSocket-Extensions", o.response())
		d = newDeflate(o)
	}
	rw, err := w.Upgrade()
	if err != nil {
		return nil, err
	}
	return newConn(rw, opts, d), nil
}

func offered(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ownedField: fields Accept sets itself, which an application may not
// override or duplicate.
func ownedField(name []byte) bool {
	const prefix = "Sec-WebSocket-"
	if len(name) >= len(prefix) && web.EqualFold(name[:len(prefix)], prefix) {
		return true
	}
	return web.EqualFold(name, "Upgrade") || web.EqualFold(name, "Connection")
}

// Refuse writes the error response for an error from Parse: the
// HandshakeError's status (426 with Sec-WebSocket-Version: 13 for a wrong
// version, RFC 6455 §4.4), or 426 with Upgrade: websocket for a request
// that is no handshake (RFC 9110 §15.5.22), or 400 for any other error.
func Refuse(w *web.ResponseWriter, err error) {
	var he *HandshakeError
	switch {
	case errors.As(err, &he):
		if he.Status == 426 {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		web.Error(w, he.Status, he.Reason)
	case errors.Is(err, ErrNotWebSocket):
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		web.Error(w, 426, "websocket required")
	default:
		web.Error(w, 400, "bad websocket handshake")
	}
}

// validCloseCode reports whether a close frame received may carry code
// (RFC 6455 §7.4.1, §7.4.2, as Autobahn's case 7.9 checks it): 1000–1003,
// 1007–1011 and 3000–4999. 1004–1006 and 1015 are never sent; below 1000
// and from 1012 to 2999 nothing was assigned when RFC 6455 was written.
func validCloseCode(code int) bool {
	return code >= 1000 && code <= 1003 || code >= 1007 && code <= 1011 || code >= 3000 && code <= 4999
}

// sendableCloseCode is validCloseCode plus 1012–1014 (service restart,
// try again later, bad gateway), which IANA registered since and which
// ASGI applications send.
func sendableCloseCode(code int) bool {
	return validCloseCode(code) || code >= 1012 && code <= 1014
}

// closeText is the log form of a close code and reason.
func closeText(code int, reason string) string {
	s := strconv.Itoa(code)
	if reason != "" {
		s += " " + strconv.Quote(reason)
	}
	return s
}

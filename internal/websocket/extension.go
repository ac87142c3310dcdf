package websocket

import (
	"strconv"

	"nave/internal/web"
)

// offer is one valid permessage-deflate offer (RFC 7692 §7.1).
type offer struct {
	clientNoContext bool // client_no_context_takeover: the client keeps no context
	serverBits      int  // server_max_window_bits, 8–15; 0 when absent
}

// nextExtension splits the first offer off a Sec-WebSocket-Extensions
// value (RFC 6455 §9.1): commas inside a quoted-string do not split.
func nextExtension(b []byte) (item, rest []byte, ok bool) {
	for len(b) > 0 {
		i, quoted := 0, false
		for ; i < len(b) && (quoted || b[i] != ','); i++ {
			switch {
			case b[i] == '"':
				quoted = !quoted
			case b[i] == '\\' && quoted && i+1 < len(b):
				i++
			}
		}
		item, b = trim(b[:i]), b[i:]
		if len(b) > 0 {
			b = b[1:]
		}
		if len(item) > 0 {
			return item, b, true
		}
	}
	return nil, nil, false
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseOffer reads one extension offer. It reports false for another
// extension, and for a permessage-deflate offer the server must decline
// (RFC 7692 §7.1): an unknown or repeated parameter, or a bad value.
func parseOffer(item []byte) (offer, bool) {
	var o offer
	name, params := cut(item, ';')
	if !web.EqualFold(trim(name), "permessage-deflate") {
		return o, false
	}
	var seen [4]bool
	for len(params) > 0 {
		var p []byte
		p, params = cut(params, ';')
		k, v, hasValue := cutValue(trim(p))
		var i int
		switch {
		case web.EqualFold(k, "server_no_context_takeover") && !hasValue:
			i = 0 // always in nave's response
		case web.EqualFold(k, "client_no_context_takeover") && !hasValue:
			i, o.clientNoContext = 1, true
		case web.EqualFold(k, "server_max_window_bits"):
			i = 2
			if o.serverBits = windowBits(v); !hasValue || o.serverBits == 0 {
				return o, false
			}
		case web.EqualFold(k, "client_max_window_bits"):
			// Any window decompresses with a 32 KiB one: nave accepts
			// whatever the client will use and answers nothing.
			i = 3
			if hasValue && windowBits(v) == 0 {
				return o, false
			}
		default:
			return o, false
		}
		if seen[i] {
			return o, false
		}
		seen[i] = true
	}
	return o, true
}

// cut splits b around the first sep outside a quoted-string.
func cut(b []byte, sep byte) (before, after []byte) {
	quoted := false
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '"':
			quoted = !quoted
		case b[i] == '\\' && quoted:
			i++
		case b[i] == sep && !quoted:
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// cutValue splits a parameter "name=value", unquoting a quoted value.
func cutValue(p []byte) (name, value []byte, ok bool) {
	name, value = cut(p, '=')
	if value == nil && len(name) == len(p) {
		return trim(name), nil, false
	}
	value = trim(value)
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	return trim(name), value, true
}

// windowBits parses a max_window_bits value: 8 to 15, digits only, no
// leading zero (RFC 7692 §7.1.2). It returns 0 for anything else.
func windowBits(v []byte) int {
	if len(v) == 0 || len(v) > 2 || v[0] == '0' {
		return 0
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if n < 8 || n > 15 {
		return 0
	}
	return n
}

// response is the Sec-WebSocket-Extensions value accepting o. nave never
// keeps its compression context (see the package comment), and echoes
// the client's client_no_context_takeover and server_max_window_bits
// (which RFC 7692 §7.1.2.1 requires to be answered).
func (o offer) response() string {
	s := "permessage-deflate; server_no_context_takeover"
	if o.clientNoContext {
		s += "; client_no_context_takeover"
	}
	if o.serverBits != 0 {
		s += "; server_max_window_bits=" + strconv.Itoa(o.serverBits)
	}
	return s
}

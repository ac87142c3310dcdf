package http1

import "nave/internal/web"

// Byte classes from RFC 9110 §5.6.2 (tchar) and §5.5 (field-vchar).
const (
	classToken  = 1 << iota // tchar
	classValue              // field-vchar, obs-text, SP, HTAB
	classHost               // reg-name, IP-literal and port characters of a Host value
	classTarget             // bytes allowed in a request-target: visible, no "#"
)

// byteClass is read-only after package initialisation.
var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum || c < 128 && indexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0 {
			t[c] |= classToken
		}
		if c == ' ' || c == '\t' || c > 0x20 && c != 0x7f {
			t[c] |= classValue
		}
		if alnum || c < 128 && indexByte("-._~!$&'()*+,;=%:[]", byte(c)) >= 0 {
			t[c] |= classHost
		}
		if c > 0x20 && c != 0x7f && c != '#' {
			t[c] |= classTarget
		}
	}
	return t
}()

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func isToken[T string | []byte](s T) bool { return web.IsToken(s) }

func equalFold[A, B string | []byte](a A, b B) bool { return web.EqualFold(a, b) }

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func nextListItem(b []byte) (item, rest []byte, ok bool) { return web.NextListItem(b) }

package web

// Byte classes from RFC 9110 §5.6.2 (tchar) and §5.5 (field-vchar).
const (
	classToken = 1 << iota // tchar
	classValue             // field-vchar, obs-text, SP, HTAB
)

// byteClass is read-only after package initialisation.
var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum || c < 128 && c > 0x20 && isTcharSymbol(byte(c)) {
			t[c] |= classToken
		}
		if c == ' ' || c == '\t' || c > 0x20 && c != 0x7f {
			t[c] |= classValue
		}
	}
	return t
}()

func isTcharSymbol(c byte) bool {
	const symbols = "!#$%&'*+-.^_`|~"
	for i := 0; i < len(symbols); i++ {
		if symbols[i] == c {
			return true
		}
	}
	return false
}

// IsTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func IsTokenChar(c byte) bool { return byteClass[c]&classToken != 0 }

// IsValueChar reports whether c may appear in a field value: a visible
// byte, obs-text, SP or HTAB (RFC 9110 §5.5).
func IsValueChar(c byte) bool { return byteClass[c]&classValue != 0 }

// IsToken reports whether s is a non-empty token.
func IsToken[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if byteClass[s[i]]&classToken == 0 {
			return false
		}
	}
	return true
}

// ValidFieldName reports whether s is a token, as a field name must be.
func ValidFieldName(s string) bool { return IsToken(s) }

// ValidFieldValue reports whether s may be sent as a field value: no CR,
// LF, NUL or other control byte except HTAB (RFC 9110 §5.5).
func ValidFieldValue[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if byteClass[s[i]]&classValue == 0 {
			return false
		}
	}
	return true
}

// EqualFold reports whether a and b are equal, ignoring ASCII case: how
// field names, tokens and coding names compare (RFC 9110 §5.1).
func EqualFold[A, B string | []byte](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// IsOWS reports whether c is optional whitespace: SP or HTAB (RFC 9110
// §5.6.3).
func IsOWS(c byte) bool { return c == ' ' || c == '\t' }

// TrimOWS drops the whitespace around a field value (RFC 9110 §5.5),
// which HTTP/2 forbids sending (RFC 9113 §8.2.1).
func TrimOWS(b []byte) []byte {
	for len(b) > 0 && IsOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && IsOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// NextListItem splits the first element off a comma-separated list
// (RFC 9110 §5.6.1), skipping empty elements. ok is false when none is left.
func NextListItem(b []byte) (item, rest []byte, ok bool) {
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != ',' {
			i++
		}
		item, b = TrimOWS(b[:i]), b[i:]
		if len(b) > 0 {
			b = b[1:]
		}
		if len(item) > 0 {
			return item, b, true
		}
	}
	return nil, nil, false
}

// HasToken reports whether the comma-separated list holds token, in any
// case (Connection: close, say).
func HasToken(list []byte, token string) bool {
	for item, rest, ok := NextListItem(list); ok; item, rest, ok = NextListItem(rest) {
		if EqualFold(item, token) {
			return true
		}
	}
	return false
}

// AppendUnescaped appends raw with its percent-escapes decoded once (RFC
// 3986 §2.1): a path as CGI's PATH_INFO and ASGI's scope["path"] want it.
// A "%" not followed by two hex digits stays as it is, as Python's
// urllib.parse.unquote leaves it.
func AppendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' && i+2 < len(raw) {
			if h, l := Unhex(raw[i+1]), Unhex(raw[i+2]); h >= 0 && l >= 0 {
				dst = append(dst, byte(h<<4|l))
				i += 2
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// Unhex is the value of the hexadecimal digit c, or -1 (chunk sizes,
// RFC 9112 §7.1; percent-encoding, RFC 3986 §2.1).
func Unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

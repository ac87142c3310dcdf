package http1

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

func isToken[T string | []byte](s T) bool {
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
func ValidFieldName(s string) bool { return isToken(s) }

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
	return equalFold(a, b)
}

func equalFold[A, B string | []byte](b A, s B) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
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

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// nextListItem splits the first element off a comma-separated list
// (RFC 9110 §5.6.1), skipping empty elements. ok is false when none is left.
func nextListItem(b []byte) (item, rest []byte, ok bool) {
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != ',' {
			i++
		}
		item, b = trimOWS(b[:i]), b[i:]
		if len(b) > 0 {
			b = b[1:]
		}
		if len(item) > 0 {
			return item, b, true
		}
	}
	return nil, nil, false
}

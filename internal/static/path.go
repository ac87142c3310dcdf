package static

import "nave/internal/web"

// pathBufSize is the decoded request path that fits the caller's stack
// buffer; a longer one (rare: PATH_MAX is 4 KiB) costs an allocation.
const pathBufSize = 256

// Outcomes of cleanPath other than a usable key.
const (
	pathOK       = 0
	pathNotFound = 404 // can name no file: refused without saying why
	pathBad      = 400 // a malformed percent-escape (RFC 3986 §2.1)
)

// cleanPath turns a request path, still percent-encoded, into a cache key:
// the decoded path without its leading "/", segments joined by "/", with a
// trailing "/" when the request's path ends in one ("" is the root). It
// decodes exactly once and refuses rather than repairs:
//
//   - a ".." segment in any spelling ("..", "%2e%2e", ".%2E") is refused,
//     never resolved against its parent;
//   - "%2F" (a slash inside a segment), a backslash (raw or "%5C"), NUL and
//     every other control byte are refused: no file on a web server is
//     meant to be named so, and each has been a traversal vector somewhere;
//   - empty and "." segments are dropped ("//a/./b" is "a/b"), as nginx's
//     merge_slashes does.
//
// The key aliases raw when decoding changes nothing, else buf (or a new
// slice when buf is too small). status is pathOK, pathNotFound or pathBad.
// hidden reports a segment starting with "." (other than ".well-known",
// RFC 8615), which the caller refuses unless hidden files are shown.
func cleanPath(raw, buf []byte) (key []byte, hidden bool, status int) {
	if len(raw) == 0 || raw[0] != '/' {
		return nil, false, pathNotFound
	}
	if simplePath(raw) {
		return raw[1:], hiddenSegment(raw[1:]), pathOK
	}
	if len(raw) > len(buf) {
		buf = make([]byte, len(raw))
	}
	out := buf[:0]
	for i := 1; i <= len(raw); {
		j := i
		for j < len(raw) && raw[j] != '/' {
			j++
		}
		start := len(out)
		for k := i; k < j; k++ {
			c := raw[k]
			if c == '%' {
				if k+2 >= len(raw) || web.Unhex(raw[k+1]) < 0 || web.Unhex(raw[k+2]) < 0 {
					return nil, false, pathBad
				}
				c = byte(web.Unhex(raw[k+1])<<4 | web.Unhex(raw[k+2]))
				k += 2
				if c == '/' {
					return nil, false, pathNotFound
				}
			}
			if c < 0x20 || c == 0x7f || c == '\\' {
				return nil, false, pathNotFound
			}
			out = append(out, c)
		}
		seg := out[start:]
		switch {
		case len(seg) == 0 || len(seg) == 1 && seg[0] == '.':
			out = out[:start]
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			return nil, false, pathNotFound
		default:
			if seg[0] == '.' && string(seg) != wellKnown {
				hidden = true
			}
			out = append(out, '/')
		}
		i = j + 1
	}
	// Every kept segment got a "/"; keep the last one only if the request
	// ended in "/".
	if len(out) > 0 && raw[len(raw)-1] != '/' {
		out = out[:len(out)-1]
	}
	return out, hidden, pathOK
}

// wellKnown is the one dot-directory served by default: ACME challenges
// and security.txt live there (RFC 8615).
const wellKnown = ".well-known"

// simplePath reports whether raw (starting with "/") needs no decoding or
// cleaning: no "%", "\", control byte, empty segment or dot-only segment.
// Such a path is its own key, which keeps the common request copy-free.
func simplePath(raw []byte) bool {
	for i := 1; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '%' || c == '\\' || c < 0x20 || c == 0x7f:
			return false
		case c == '/' && raw[i-1] == '/':
			return false
		case c == '.' && raw[i-1] == '/':
			// "." or ".." segments need cleaning; other dot-names are fine.
			if i+1 == len(raw) || raw[i+1] == '/' || raw[i+1] == '.' && (i+2 == len(raw) || raw[i+2] == '/') {
				return false
			}
		}
	}
	return true
}

// hiddenSegment reports whether a clean key has a segment starting with
// "." other than ".well-known".
func hiddenSegment(key []byte) bool {
	for i := 0; i < len(key); i++ {
		if key[i] == '.' && (i == 0 || key[i-1] == '/') {
			j := i
			for j < len(key) && key[j] != '/' {
				j++
			}
			if string(key[i:j]) != wellKnown {
				return true
			}
		}
	}
	return false
}

// fsName is the file-system name for a key: without its trailing "/",
// and "." for the root.
func fsName(key string) string {
	if len(key) > 0 && key[len(key)-1] == '/' {
		key = key[:len(key)-1]
	}
	if key == "" {
		return "."
	}
	return key
}

// escapePath percent-encodes a clean name for use in a URL path (a
// Location field, a listing's links): every byte outside RFC 3986's
// unreserved set and the sub-delims that are safe in a path is escaped,
// and "/" separates segments.
func escapePath(name string) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(name); i++ {
		if !pathSafe(name[i]) {
			n++
		}
	}
	if n == 0 {
		return name
	}
	b := make([]byte, 0, len(name)+2*n)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if pathSafe(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return string(b)
}

// pathSafe reports whether c may appear unescaped in a path segment or as
// its separator. "?" and "#" are escaped, and so is ";" (some servers and
// caches split parameters on it).
func pathSafe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '/', '!', '$', '&', '\'', '(', ')', '*', '+', ',', '=', ':', '@':
		return true
	}
	return false
}

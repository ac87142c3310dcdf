package static

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzCleanPath checks cleanPath's invariant: whatever the request path,
// a key it accepts has no ".." (or "." or empty) segment, no NUL, control
// byte or backslash, and no leading slash; and it is its own key when
// escaped and cleaned again.
func FuzzCleanPath(f *testing.F) {
	for _, tt := range pathCases {
		f.Add(tt.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var buf [pathBufSize]byte
		key, hidden, status := cleanPath([]byte(raw), buf[:])
		if status != pathOK {
			return
		}
		if len(key) > 0 && key[0] == '/' {
			t.Fatalf("cleanPath(%q) = %q: leading slash", raw, key)
		}
		for _, c := range key {
			if c < 0x20 || c == 0x7f || c == '\\' {
				t.Fatalf("cleanPath(%q) = %q: byte %#x", raw, key, c)
			}
		}
		segs := strings.Split(strings.TrimSuffix(string(key), "/"), "/")
		for i, seg := range segs {
			if seg == ".." || seg == "." || seg == "" && !(len(segs) == 1 && len(key) == 0) {
				t.Fatalf("cleanPath(%q) = %q: segment %d is %q", raw, key, i, seg)
			}
			if strings.HasPrefix(seg, ".") && seg != wellKnown && !hidden {
				t.Fatalf("cleanPath(%q) = %q: hidden segment %q not reported", raw, key, seg)
			}
		}
		name := strings.TrimSuffix(string(key), "/")
		again, _, st := cleanPath([]byte("/"+escapePath(name)), nil)
		if st != pathOK || !bytes.Equal(again, []byte(name)) {
			t.Fatalf("cleanPath(%q) = %q, but escaped and cleaned again gives %q (%d)", raw, key, again, st)
		}
	})
}

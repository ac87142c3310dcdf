package static

import (
	"bytes"
	"strings"
	"testing"
)

// pathCases are request paths, as received, and the key cleanPath makes
// of them (or the status it refuses them with). The traversal corpus is
// named by attack.
var pathCases = []struct {
	name, raw, key string
	hidden         bool
	status         int
}{
	{"root", "/", "", false, pathOK},
	{"file", "/index.html", "index.html", false, pathOK},
	{"nested", "/a/b/c.css", "a/b/c.css", false, pathOK},
	{"folder_slash", "/docs/", "docs/", false, pathOK},
	{"space_encoded", "/my%20file.txt", "my file.txt", false, pathOK},
	{"utf8_encoded", "/caf%C3%A9.html", "café.html", false, pathOK},
	{"literal_plus", "/a+b.txt", "a+b.txt", false, pathOK},
	{"merge_slashes", "//a///b", "a/b", false, pathOK},
	{"merge_slashes_root", "//", "", false, pathOK},
	{"dot_segments", "/./a/./b/.", "a/b", false, pathOK},
	{"dot_segment_folder", "/a/./", "a/", false, pathOK},
	{"encoded_dot_segment", "/%2e/a", "a", false, pathOK},
	{"dots_in_name", "/a..b/c../d.", "a..b/c../d.", false, pathOK},
	{"dotdot_prefixed_name_is_hidden", "/..c", "..c", true, pathOK},
	{"double_encoded_is_literal", "/%252e%252e/x", "%2e%2e/x", false, pathOK},
	{"double_encoded_slash_is_literal", "/a%252fb", "a%2fb", false, pathOK},
	{"hidden_file", "/.env", ".env", true, pathOK},
	{"hidden_folder", "/.git/config", ".git/config", true, pathOK},
	{"hidden_encoded", "/%2ehtpasswd", ".htpasswd", true, pathOK},
	{"hidden_deep", "/a/.svn/entries", "a/.svn/entries", true, pathOK},
	{"well_known", "/.well-known/acme-challenge/x", ".well-known/acme-challenge/x", false, pathOK},
	{"well_known_then_hidden", "/.well-known/.x", ".well-known/.x", true, pathOK},

	{"dotdot", "/../etc/passwd", "", false, pathNotFound},
	{"dotdot_inner", "/a/../../etc/passwd", "", false, pathNotFound},
	{"dotdot_resolving_inside", "/a/../b", "", false, pathNotFound},
	{"dotdot_end", "/a/..", "", false, pathNotFound},
	{"dotdot_encoded", "/%2e%2e/etc/passwd", "", false, pathNotFound},
	{"dotdot_encoded_upper", "/%2E%2E/etc/passwd", "", false, pathNotFound},
	{"dotdot_half_encoded", "/%2E./etc/passwd", "", false, pathNotFound},
	{"dotdot_half_encoded_2", "/.%2e/etc/passwd", "", false, pathNotFound},
	{"dotdot_encoded_slash", "/..%2fetc%2fpasswd", "", false, pathNotFound},
	{"dotdot_encoded_slash_upper", "/..%2Fetc", "", false, pathNotFound},
	{"encoded_slash", "/a%2fb", "", false, pathNotFound},
	{"backslash", "/..\\etc\\passwd", "", false, pathNotFound},
	{"backslash_encoded", "/..%5cetc%5cpasswd", "", false, pathNotFound},
	{"backslash_plain_name", "/a\\b", "", false, pathNotFound},
	{"nul", "/index.html%00.txt", "", false, pathNotFound},
	{"control", "/a%0d%0aSet-Cookie:x", "", false, pathNotFound},
	{"del", "/a%7f", "", false, pathNotFound},
	{"not_origin_form", "*", "", false, pathNotFound},
	{"empty", "", "", false, pathNotFound},
	{"absolute_windows", "C:/Windows", "", false, pathNotFound},

	{"bad_escape", "/a%zz", "", false, pathBad},
	{"short_escape", "/a%2", "", false, pathBad},
	{"short_escape_end", "/a%", "", false, pathBad},
	{"escape_across_slash", "/a%2/b", "", false, pathBad},
}

func TestCleanPath(t *testing.T) {
	for _, tt := range pathCases {
		t.Run(tt.name, func(t *testing.T) {
			var buf [pathBufSize]byte
			key, hidden, status := cleanPath([]byte(tt.raw), buf[:])
			if status != tt.status {
				t.Fatalf("cleanPath(%q) status %d, want %d", tt.raw, status, tt.status)
			}
			if status != pathOK {
				return
			}
			if string(key) != tt.key || hidden != tt.hidden {
				t.Errorf("cleanPath(%q) = %q, hidden %v; want %q, hidden %v", tt.raw, key, hidden, tt.key, tt.hidden)
			}
		})
	}
}

// TestCleanPathLong: a path longer than the caller's buffer is decoded
// into a fresh one, the same way.
func TestCleanPathLong(t *testing.T) {
	seg := strings.Repeat("x", 100)
	raw := "/" + strings.Repeat(seg+"%20/", 5)
	key, _, status := cleanPath([]byte(raw), make([]byte, 8))
	want := strings.Repeat(seg+" /", 5)
	if status != pathOK || string(key) != want {
		t.Errorf("got %q (%d), want %q", key, status, want)
	}
}

// TestSimplePathAgrees: the copy-free fast path gives what decoding
// would.
func TestSimplePathAgrees(t *testing.T) {
	for _, raw := range []string{"/a", "/a/", "/a.b/c", "/.x", "/..x", "/x..", "/a/b/", "/.well-known/y"} {
		if !simplePath([]byte(raw)) {
			t.Errorf("simplePath(%q) = false", raw)
			continue
		}
		key, hidden, _ := cleanPath([]byte(raw), nil)
		buf := append([]byte(raw), "%41"...) // force the slow path, then drop the "A"
		slow, slowHidden, _ := cleanPath(buf, nil)
		slow = bytes.TrimSuffix(slow, []byte("A"))
		if strings.HasSuffix(raw, "/") {
			// "/a/%41" cleaned is "a/A": without the "A", "a/", as wanted.
			slow = bytes.TrimSuffix(slow, []byte("/"))
			slow = append(slow, '/')
		}
		if !bytes.Equal(key, slow) || hidden != slowHidden {
			t.Errorf("%q: fast %q %v, slow %q %v", raw, key, hidden, slow, slowHidden)
		}
	}
}

func TestEscapePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a/b.html", "a/b.html"},
		{"my file.txt", "my%20file.txt"},
		{"100%.txt", "100%25.txt"},
		{"a?b#c;d", "a%3Fb%23c%3Bd"},
		{"café", "caf%C3%A9"},
		{"evil.com", "evil.com"},
	}
	for _, tt := range tests {
		if got := escapePath(tt.in); got != tt.want {
			t.Errorf("escapePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		key, _, st := cleanPath([]byte("/"+escapePath(tt.in)), nil)
		if st != pathOK || string(key) != tt.in {
			t.Errorf("cleanPath(escapePath(%q)) = %q (%d)", tt.in, key, st)
		}
	}
}

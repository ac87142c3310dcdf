// Package route sends each request to its handler, and records where the
// handler is mounted in the request (web.Request.Prefix and PathInfo), so
// that every handler sees one idea of where it is mounted. A Table picks
// the mount at the longest path prefix that holds the request (nave wsgi's
// --static and --mount); a config's sites are a Hosts (host names to
// sites) over Lists (rules tried in order, matching on a path prefix or
// glob, the method, the host, header fields and query arguments).
//
// Prefixes match whole segments of the percent-decoded path, as nginx's
// locations do: "/static" holds "/static" and "/static/app.css" (and
// "/st%61tic/app.css"), not "/staticfiles". The segment must end with a
// literal "/" ("/static%2Fapp.css" is not under "/static"), so that
// PathInfo starts with "/".
//
// It imports web and the standard library only.
package route

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"nave/internal/web"
)

// Mount is a handler and the path prefix it serves.
type Mount struct {
	// Prefix is "/" (or "") for the root, else "/name..." without a
	// trailing "/" (one is dropped).
	Prefix  string
	Handler web.Handler
}

// Table is a compiled set of mounts. It is immutable and safe for
// concurrent use.
type Table struct {
	mounts []Mount // longest prefix first; the root, if any, last
}

// ErrPrefix is a mount prefix that is not an absolute path.
var ErrPrefix = errors.New("route: a prefix must start with /")

// New compiles mounts. Requests under no mount get 404.
func New(mounts []Mount) (*Table, error) {
	t := &Table{}
	seen := map[string]bool{}
	for _, m := range mounts {
		p := strings.TrimRight(m.Prefix, "/")
		if m.Prefix != "" && !strings.HasPrefix(m.Prefix, "/") {
			return nil, fmt.Errorf("%w: %q", ErrPrefix, m.Prefix)
		}
		if seen[p] {
			return nil, fmt.Errorf("route: %q is mounted twice", m.Prefix)
		}
		seen[p] = true
		t.mounts = append(t.mounts, Mount{Prefix: p, Handler: m.Handler})
	}
	slices.SortStableFunc(t.mounts, func(a, b Mount) int { return len(b.Prefix) - len(a.Prefix) })
	return t, nil
}

// Serve hands r to the handler of the longest matching prefix.
func (t *Table) Serve(w *web.ResponseWriter, r *web.Request) {
	for i := range t.mounts {
		m := &t.mounts[i]
		if n, ok := match(r.Path, m.Prefix); ok {
			r.SetMount(n)
			m.Handler.Serve(w, r)
			return
		}
	}
	web.Error(w, 404, "not found")
}

// match reports whether the percent-decoded path starts with prefix
// followed by "/" or the end, and how many raw bytes of path the prefix
// took.
func match(path []byte, prefix string) (int, bool) {
	if prefix == "" {
		return 0, true // the root holds everything, "*" included
	}
	i := 0
	for j := 0; j < len(prefix); j++ {
		c, n := decodeAt(path, i)
		if n == 0 || c != prefix[j] {
			return 0, false
		}
		i += n
	}
	// The prefix ends at a literal "/" or the path's end: an escaped
	// slash ("%2F") does not end a segment here, so that PathInfo always
	// starts with "/".
	if i < len(path) && path[i] != '/' {
		return 0, false
	}
	return i, true
}

// decodeAt returns the byte at path[i], decoding a percent-escape, and how
// many raw bytes it took; 0 at the end.
func decodeAt(path []byte, i int) (byte, int) {
	if i >= len(path) {
		return 0, 0
	}
	if path[i] == '%' && i+2 < len(path) {
		if h, l := web.Unhex(path[i+1]), web.Unhex(path[i+2]); h >= 0 && l >= 0 {
			return byte(h<<4 | l), 3
		}
	}
	return path[i], 1
}

package route

import (
	"fmt"
	"net/netip"
	"strings"

	"nave/internal/web"
)

// VHost is a handler and the host names it answers: exact names
// ("example.com"), wildcards of one leading label ("*.example.com" holds
// "a.example.com", not "example.com" or "a.b.example.com"), and "*" (or
// no names at all) for the default, which answers every host no other
// VHost names.
type VHost struct {
	Hosts   []string
	Handler web.Handler
}

// Hosts sends each request to the VHost its host (Authority, without the
// port; case and a trailing dot ignored) names: an exact name first, then
// a wildcard, then the default. With no default, an unknown host gets
// 421 Misdirected Request (RFC 9110 §15.5.20). It is immutable and safe
// for concurrent use.
type Hosts struct {
	m   hostMap[web.Handler]
	def web.Handler
}

// NewHosts compiles vhosts. A name given twice, or two defaults, is an
// error.
func NewHosts(vhosts []VHost) (*Hosts, error) {
	h := &Hosts{m: newHostMap[web.Handler]()}
	for _, v := range vhosts {
		names := v.Hosts
		if len(names) == 0 {
			names = []string{"*"}
		}
		for _, name := range names {
			if name == "*" {
				if h.def != nil {
					return nil, fmt.Errorf("route: two default hosts")
				}
				h.def = v.Handler
				continue
			}
			if err := h.m.add(name, v.Handler); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// Serve hands r to its host's handler.
func (h *Hosts) Serve(w *web.ResponseWriter, r *web.Request) {
	if next, ok := h.m.lookup(web.Hostname(r.Authority)); ok {
		next.Serve(w, r)
		return
	}
	if h.def != nil {
		h.def.Serve(w, r)
		return
	}
	web.Error(w, 421, "no site here has this host name")
}

// hostMap maps exact host names and one-label wildcards to values.
type hostMap[T any] struct {
	exact map[string]T
	wild  map[string]T // "*.example.com" is kept as "example.com"
}

func newHostMap[T any]() hostMap[T] {
	return hostMap[T]{exact: map[string]T{}, wild: map[string]T{}}
}

// add records name, lower-cased, without a trailing dot; an IPv6 address
// in brackets, as a Host field writes it.
func (m hostMap[T]) add(name string, v T) error {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if a, err := netip.ParseAddr(name); err == nil && a.Is6() {
		name = "[" + name + "]"
	}
	table := m.exact
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		table, name = m.wild, rest
	}
	if name == "" || strings.Contains(name, "*") {
		return fmt.Errorf("route: %q is not a host name or *.name", name)
	}
	if _, dup := table[name]; dup {
		return fmt.Errorf("route: host %q is named twice", name)
	}
	table[name] = v
	return nil
}

// maxHost is the longest host name looked up: longer ones match nothing
// (RFC 1035 §2.3.4 allows 253 bytes).
const maxHost = 255

// lookup finds host's value, without allocating: the lower-cased name is
// built on the stack, and a map index with string(b) does not copy.
func (m hostMap[T]) lookup(host []byte) (T, bool) {
	var zero T
	if len(host) > 0 && host[len(host)-1] == '.' {
		host = host[:len(host)-1]
	}
	if len(host) > maxHost || len(host) == 0 {
		return zero, false
	}
	var buf [maxHost]byte
	b := buf[:len(host)]
	for i, c := range host {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	if v, ok := m.exact[string(b)]; ok {
		return v, true
	}
	for i, c := range b {
		if c == '.' {
			v, ok := m.wild[string(b[i+1:])]
			return v, ok
		}
	}
	return zero, false
}

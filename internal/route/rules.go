package route

import (
	"fmt"
	"strings"

	"nave/internal/web"
)

// Match is what a request must have for a Rule to take it. Every field
// set must hold; the zero Match holds every request.
type Match struct {
	// Prefix is a path prefix of whole segments, as Mount.Prefix; the
	// rule's handler is mounted there (Request.Prefix, PathInfo).
	Prefix string
	// Glob is a pattern on the whole percent-decoded path: "*" stands for
	// any run of bytes, "/" included; every other byte is itself.
	Glob    string
	Methods []string
	Hosts   []string  // as VHost.Hosts, without "*"
	Headers []Pattern // each named field present with a value the glob holds
	Query   []Pattern // each named argument present with a raw value the glob holds
}

// Pattern is a name and a glob on its value ("*" holds any value).
type Pattern struct{ Name, Value string }

// Rule is a Match and the handler of the requests it holds.
type Rule struct {
	Match   Match
	Handler web.Handler
}

// List tries its rules in order and hands a request to the first that
// matches, mounted at its prefix. It is immutable and safe for
// concurrent use, and matching allocates nothing for paths up to
// maxDecoded bytes.
type List struct {
	rules []rule
	// bySegment indexes the rules by the first segment of their prefix,
	// so that a request tries only those that could take it: the rules
	// whose prefix starts with its path's first segment, and the rules
	// without a prefix, in their order. Other paths try unkeyed.
	bySegment map[string][]int
	unkeyed   []int
}

type rule struct {
	prefix  string // without a trailing "/"; "" for none
	glob    string
	methods []string
	hosts   *hostMap[struct{}] // nil: any host
	headers []Pattern
	query   []Pattern
	handler web.Handler
}

// NewList compiles rules. Requests that no rule matches get 404.
func NewList(rules []Rule) (*List, error) {
	l := &List{}
	for i, r := range rules {
		m := r.Match
		if m.Prefix != "" && !strings.HasPrefix(m.Prefix, "/") {
			return nil, fmt.Errorf("%w: %q", ErrPrefix, m.Prefix)
		}
		c := rule{prefix: strings.TrimRight(m.Prefix, "/"), glob: m.Glob, methods: m.Methods,
			headers: m.Headers, query: m.Query, handler: r.Handler}
		if len(m.Hosts) > 0 {
			hm := newHostMap[struct{}]()
			for _, h := range m.Hosts {
				if err := hm.add(h, struct{}{}); err != nil {
					return nil, fmt.Errorf("rule %d: %w", i, err)
				}
			}
			c.hosts = &hm
		}
		l.rules = append(l.rules, c)
	}
	l.index()
	return l, nil
}

// index fills bySegment and unkeyed.
func (l *List) index() {
	l.bySegment = map[string][]int{}
	for i := range l.rules {
		if seg := firstSegment(l.rules[i].prefix); seg != "" {
			l.bySegment[seg] = nil
		}
	}
	for i := range l.rules {
		seg := firstSegment(l.rules[i].prefix)
		if seg == "" {
			l.unkeyed = append(l.unkeyed, i)
		}
		for key, list := range l.bySegment {
			if seg == "" || seg == key {
				l.bySegment[key] = append(list, i)
			}
		}
	}
}

// maxSegment is the longest first segment the index keys; a rule whose
// prefix starts with a longer one is tried for every path.
const maxSegment = 64

// firstSegment is "api" for "/api/v1", "" for "" (the root) and for a
// segment too long to key.
func firstSegment(prefix string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(prefix, "/"), "/")
	if len(seg) > maxSegment {
		return ""
	}
	return seg
}

// candidates are the rules that could take path, in order.
func (l *List) candidates(path []byte) []int {
	if len(path) == 0 || path[0] != '/' {
		return l.unkeyed
	}
	var buf [maxSegment]byte
	seg := buf[:0]
	for i := 1; i < len(path) && path[i] != '/'; {
		if len(seg) == len(buf) {
			return l.unkeyed // longer than any prefix worth keying: tried against the unkeyed
		}
		c, n := decodeAt(path, i)
		seg = append(seg, c)
		i += n
	}
	if list, ok := l.bySegment[string(seg)]; ok {
		return list
	}
	return l.unkeyed
}

// Serve hands r to the first matching rule's handler.
func (l *List) Serve(w *web.ResponseWriter, r *web.Request) {
	for _, i := range l.candidates(r.Path) {
		if n, ok := l.rules[i].match(r); ok {
			r.SetMount(n)
			l.rules[i].handler.Serve(w, r)
			return
		}
	}
	web.Error(w, 404, "not found")
}

// match reports whether r is the rule's, and the length of its mount.
// The cheap tests go first.
func (c *rule) match(r *web.Request) (int, bool) {
	n, ok := match(r.Path, c.prefix)
	if !ok {
		return 0, false
	}
	if len(c.methods) > 0 && !hasMethod(c.methods, r.Method) {
		return 0, false
	}
	if c.hosts != nil {
		if _, ok := c.hosts.lookup(web.Hostname(r.Authority)); !ok {
			return 0, false
		}
	}
	for _, p := range c.headers {
		if !headerMatch(&r.Header, p) {
			return 0, false
		}
	}
	for _, p := range c.query {
		if !queryMatch(r.Query, p) {
			return 0, false
		}
	}
	if c.glob != "" && !pathGlob(c.glob, r.Path) {
		return 0, false
	}
	return n, true
}

func hasMethod(methods []string, m []byte) bool {
	for _, want := range methods {
		if want == string(m) {
			return true
		}
	}
	return false
}

func headerMatch(h *web.Header, p Pattern) bool {
	for i := range h.Len() {
		name, value := h.At(i)
		if web.EqualFold(name, p.Name) && glob(p.Value, value) {
			return true
		}
	}
	return false
}

// queryMatch looks for an argument named p.Name in the raw query
// ("a=1&b"), whose raw value the glob holds; an argument without "=" has
// the value "".
func queryMatch(query []byte, p Pattern) bool {
	for len(query) > 0 {
		arg := query
		if i := indexByte(query, '&'); i >= 0 {
			arg, query = query[:i], query[i+1:]
		} else {
			query = nil
		}
		name, value := arg, arg[:0]
		if i := indexByte(arg, '='); i >= 0 {
			name, value = arg[:i], arg[i+1:]
		}
		if string(name) == p.Name && glob(p.Value, value) {
			return true
		}
	}
	return false
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// maxDecoded is the longest path a glob is matched against without
// allocating a buffer for its decoded form.
const maxDecoded = 1024

// pathGlob matches pattern against the percent-decoded path.
func pathGlob(pattern string, path []byte) bool {
	var buf [maxDecoded]byte
	dec := buf[:0]
	if len(path) > maxDecoded {
		dec = make([]byte, 0, len(path))
	}
	for i := 0; i < len(path); {
		c, n := decodeAt(path, i)
		dec = append(dec, c)
		i += n
	}
	return glob(pattern, dec)
}

// glob reports whether s is held by pattern, in which "*" stands for any
// run of bytes. It backtracks only to the last "*", so it is linear in
// practice and O(len(pattern)·len(s)) at worst.
func glob(pattern string, s []byte) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p, mark = star+1, mark+1
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

package unit

import (
	"path"
	"strings"

	"nave/internal/config"
)

// match converts a step's match into the nave matches it is the "any
// of": nil and true when it never holds here (a scheme these listeners
// do not serve); false when nave cannot say it, every reason reported.
func (c *conv) match(p string, m map[string]any, sc scope) ([]config.Match, bool) {
	alts := []config.Match{{}}
	ok := true
	for _, k := range sortedKeys(m) {
		kp := key(p, k)
		v := m[k]
		var fine bool
		switch k {
		case "uri":
			alts, fine = c.uri(kp, v, alts)
		case "method":
			alts, fine = c.list(kp, v, alts, func(m *config.Match, l []string) {
				for _, s := range l {
					m.Methods = append(m.Methods, strings.ToUpper(s))
				}
			})
		case "host":
			alts, fine = c.hosts(kp, v, alts)
		case "headers":
			alts, fine = c.fields(kp, v, alts, func(m *config.Match) *map[string]string { return &m.Headers })
		case "arguments":
			alts, fine = c.fields(kp, v, alts, func(m *config.Match) *map[string]string { return &m.Query })
		case "scheme":
			s, _ := v.(string)
			switch {
			case s == "https" && !sc.http, s == "http" && !sc.https:
				fine = true
			case s == "https" && !sc.https, s == "http" && !sc.http:
				alts, fine = nil, true
			default:
				c.lose(kp, "this route list is served on http and https listeners both, and nave has no scheme match; the step is left out")
			}
		case "cookies", "source", "destination", "query":
			c.lose(kp, "nave has no %s match; the step is left out", k)
		default:
			c.lose(kp, "is not a Unit match option; the step is left out")
		}
		ok = ok && fine
	}
	if !ok {
		return nil, false
	}
	if len(alts) > maxAlternatives {
		c.lose(p, "makes %d nave routes, over %d; the step is left out", len(alts), maxAlternatives)
		return nil, false
	}
	return alts, true
}

// patterns reads Unit patterns: a string or an array, each one that must
// hold ("any of"). Negations ("!") and regular expressions ("~") are
// reported: nave has neither.
func (c *conv) patterns(p string, v any) ([]string, bool) {
	l, ok := strs(v)
	if !ok {
		c.lose(p, "is not a string or an array of strings; the step is left out")
		return nil, false
	}
	for _, s := range l {
		switch {
		case strings.HasPrefix(s, "!"):
			c.lose(p, "nave has no negated pattern (%q); the step is left out", s)
			return nil, false
		case strings.HasPrefix(s, "~"):
			c.lose(p, "nave has no regular expression (%q); the step is left out", s)
			return nil, false
		}
	}
	return l, true
}

// list sets a field that is "any of" in nave too (methods).
func (c *conv) list(p string, v any, alts []config.Match, set func(*config.Match, []string)) ([]config.Match, bool) {
	l, ok := c.patterns(p, v)
	if !ok {
		return nil, false
	}
	for i := range alts {
		set(&alts[i], l)
	}
	return alts, true
}

// uri makes a route per pattern: a glob on the whole path, as Unit's.
func (c *conv) uri(p string, v any, alts []config.Match) ([]config.Match, bool) {
	l, ok := c.patterns(p, v)
	if !ok {
		return nil, false
	}
	for _, s := range l {
		if !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "*") || strings.ContainsAny(s, "?#") {
			c.lose(p, "%q is not a path pattern nave can match; the step is left out", s)
			return nil, false
		}
	}
	if len(l) == 1 && l[0] == "*" {
		return alts, true
	}
	return expand(alts, l, func(m *config.Match, s string) { m.Glob = s }), true
}

// hosts: names and "*.name" wildcards; "*" is no test at all.
func (c *conv) hosts(p string, v any, alts []config.Match) ([]config.Match, bool) {
	l, ok := c.patterns(p, v)
	if !ok {
		return nil, false
	}
	var hs []string
	for _, h := range l {
		if h == "*" {
			return alts, true
		}
		if !config.ValidHost(h) {
			c.lose(p, "nave matches host names and *.name wildcards, not %q; the step is left out", h)
			return nil, false
		}
		hs = append(hs, h)
	}
	for i := range alts {
		alts[i].Hosts = hs
	}
	return alts, true
}

// fields converts headers or arguments: an object (every field holds) or
// an array of them (any holds), each value a pattern or an array (any).
func (c *conv) fields(p string, v any, alts []config.Match, field func(*config.Match) *map[string]string) ([]config.Match, bool) {
	objs, isList := v.([]any)
	if !isList {
		objs = []any{v}
	}
	var out []config.Match
	for i, o := range objs {
		op := p
		if isList {
			op = index(p, i)
		}
		fs, isObj := o.(map[string]any)
		if !isObj {
			c.lose(op, "is not an object of patterns; the step is left out")
			return nil, false
		}
		mine := clone(alts)
		for _, name := range sortedKeys(fs) {
			l, ok := c.patterns(key(op, name), fs[name])
			if !ok {
				return nil, false
			}
			mine = expand(mine, l, func(m *config.Match, s string) {
				f := field(m)
				*f = clonePut(*f, name, s)
			})
			if len(mine) > maxAlternatives {
				break
			}
		}
		out = append(out, mine...)
	}
	return out, true
}

// expand is each alternative once per value, set by set.
func expand(alts []config.Match, values []string, set func(*config.Match, string)) []config.Match {
	var out []config.Match
	for _, m := range alts {
		for _, v := range values {
			x := m
			set(&x, v)
			out = append(out, x)
			if len(out) > maxAlternatives {
				return out
			}
		}
	}
	return out
}

func clone(alts []config.Match) []config.Match { return append([]config.Match(nil), alts...) }

// clonePut is m with k set to v, m itself untouched (alternatives share
// their maps until they differ).
func clonePut(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// share converts a share of "DIR$uri" to root = DIR.
func (c *conv) share(p string, a map[string]any) *config.Route {
	sp := key(p, "share")
	l, ok := strs(a["share"])
	if !ok || len(l) == 0 {
		c.lose(sp, "is not a path; the step is left out")
		return nil
	}
	if len(l) > 1 {
		c.lose(sp, "nave serves one folder per route: the first, %q, is kept, the others dropped", l[0])
	}
	s := l[0]
	dir, ok := strings.CutSuffix(s, "$uri")
	if !ok {
		dir, ok = strings.CutSuffix(s, "${uri}")
	}
	if !ok || strings.Contains(dir, "$") || !path.IsAbs(dir) && dir != "" {
		c.lose(sp, "nave serves a folder (a share of FOLDER$uri), not %q; the step is left out", s)
		return nil
	}
	if dir == "" {
		dir = "/"
	}
	r := &config.Route{Root: dir}
	r.FollowSymlinks = true // Unit's default
	for _, k := range sortedKeys(a) {
		kp := key(p, k)
		switch v := a[k]; k {
		case "index":
			idx, _ := v.(string)
			if idx == "" || strings.Contains(idx, "/") {
				c.lose(kp, "is not a file name")
				continue
			}
			r.Index = []string{idx}
		case "follow_symlinks":
			follow, _ := v.(bool)
			r.FollowSymlinks = follow
		case "chroot":
			root, _ := v.(string)
			if !within(dir, root) {
				c.lose(kp, "nave keeps a route's files within its root (%s); a chroot elsewhere (%q) is not carried", dir, root)
			}
		case "traverse_mounts":
			if v != true {
				c.lose(kp, "nave crosses mount points below the root")
			}
		case "types":
			c.lose(kp, "nave serves every file type under the root: the types limit is dropped")
		case "fallback":
			c.lose(kp, "nave has no fallback for a missing file: it answers 404")
		}
	}
	return r
}

// within reports whether folder dir is root or below it.
func within(dir, root string) bool {
	root = path.Clean(root)
	dir = path.Clean(dir)
	return root == "/" || dir == root || strings.HasPrefix(dir, root+"/")
}

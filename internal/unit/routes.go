package unit

import (
	"maps"
	"slices"
	"strings"

	"nave/internal/action"
	"nave/internal/config"
)

// maxAlternatives bounds the nave routes one Unit step becomes (Unit's
// arrays in a match are "any of": each value is a route of its own).
const maxAlternatives = 64

// maxDepth bounds passes from one route list to another.
const maxDepth = 8

// scope is what every route of a site shares: the schemes its listeners
// serve, for Unit's scheme match.
type scope struct{ http, https bool }

// site makes the site the listeners xs pass to.
func (c *conv) site(pass string, xs []*listener) {
	s := &config.Site{}
	var sc scope
	for _, x := range xs {
		s.Listeners = append(s.Listeners, x.addr)
		sc.http = sc.http || x.l.TLS == nil
		sc.https = sc.https || x.l.TLS != nil
	}
	p := key(xs[0].path, "pass")
	s.Routes = c.pass(p, pass, []config.Match{{}}, sc, 0)
	if len(s.Routes) == 0 {
		c.lose(p, "nothing it passes to was converted; nave answers 404 there")
		no := ""
		s.Routes = []*config.Route{{Respond: &no, Status: 404}}
	}
	_, n, _ := strings.Cut(pass, "/") // routes/main → main, applications/api/v2 → api_v2
	if n == "" {
		n = "main"
	}
	n = name(n, func(s string) bool { _, ok := c.out.Sites[s]; return ok })
	c.out.Sites[n] = s
}

// pass converts the target of a pass ("routes", "routes/NAME",
// "applications/NAME[/TARGET]", "upstreams/NAME") taken under the
// alternatives alts.
func (c *conv) pass(p, target string, alts []config.Match, sc scope, depth int) []*config.Route {
	kind, rest, _ := strings.Cut(target, "/")
	switch {
	case strings.Contains(target, "$"):
		c.lose(p, "nave cannot pass to a place named by variables (%q)", target)
	case kind == "routes" && depth >= maxDepth:
		c.lose(p, "route lists pass to each other more than %d deep (a loop?)", maxDepth)
	case kind == "routes" && rest == "":
		if list, ok := c.src["routes"].([]any); ok {
			return c.routeList(c.routesBase, list, alts, sc, depth+1)
		}
		c.lose(p, "there is no unnamed routes array")
	case kind == "routes":
		list, ok := obj(c.src["routes"])[rest].([]any)
		if ok {
			return c.routeList(key(c.routesBase, rest), list, alts, sc, depth+1)
		}
		c.lose(p, "there is no route list %q", rest)
	case kind == "applications":
		app, ok := c.apps[rest]
		switch {
		case !ok:
			c.lose(p, "there is no application %q (or it has targets and names none)", rest)
		case app == "":
			c.lose(p, "the application was not converted; the route is left out")
		default:
			return c.appRoutes(p, app, alts)
		}
	case kind == "upstreams":
		if _, ok := c.out.Upstreams[rest]; ok {
			return each(alts, config.Route{Proxy: rest})
		}
		c.lose(p, "there is no upstream %q that was converted", rest)
	default:
		c.lose(p, "%q is not a place nave can pass to", target)
	}
	return nil
}

// appRoutes runs app under alts. Unit's prefix (the app's SCRIPT_NAME) is
// nave's mount point: a path match on it.
func (c *conv) appRoutes(p, app string, alts []config.Match) []*config.Route {
	prefix := c.prefix[app]
	if prefix == "" {
		return each(alts, config.Route{App: app})
	}
	var routes []*config.Route
	for _, m := range alts {
		switch m.Glob {
		case prefix + "/*", prefix + "*", prefix:
			m.Glob, m.Path = "", prefix
		default:
			c.lose(p, "the app's prefix %s is its mount point in nave, where the route's path match is; this route's uri (%q) is not %s/*, so the app sees the whole path as PATH_INFO", prefix, m.Glob, prefix)
		}
		r := &config.Route{Match: m, App: app}
		routes = append(routes, r)
	}
	return routes
}

// each is the route r once under each alternative.
func each(alts []config.Match, r config.Route) []*config.Route {
	routes := make([]*config.Route, len(alts))
	for i, m := range alts {
		x := r
		x.Match = m
		routes[i] = &x
	}
	return routes
}

// routeList converts a list of steps, each taken under alts.
func (c *conv) routeList(p string, list []any, alts []config.Match, sc scope, depth int) []*config.Route {
	var routes []*config.Route
	for i, el := range list {
		sp := index(p, i)
		step := obj(el)
		mine, ok := c.match(key(sp, "match"), obj(step["match"]), sc)
		if !ok {
			continue
		}
		both, ok := combineAll(alts, mine)
		if !ok {
			c.lose(key(sp, "match"), "the step's match and the match of the step that passed to this list test one field both ways, or make over %d routes; the step is left out", maxAlternatives)
			continue
		}
		if len(both) == 0 {
			continue // it never matches on these listeners (scheme)
		}
		for _, k := range sortedKeys(step) {
			switch k {
			case "match", "action":
			case "rewrite":
				c.lose(key(sp, k), "nave cannot rewrite the URI; the step is left out")
				ok = false
			default:
				c.lose(key(sp, k), "is not part of a Unit route step")
			}
		}
		if act := obj(step["action"]); ok && act != nil {
			routes = append(routes, c.action(key(sp, "action"), act, both, sc, depth)...)
		} else if ok {
			c.lose(sp, "has no action; the step is left out")
		}
	}
	return routes
}

// action converts a step's action under the alternatives alts.
func (c *conv) action(p string, a map[string]any, alts []config.Match, sc scope, depth int) []*config.Route {
	var routes []*config.Route
	switch {
	case a["pass"] != nil:
		target, _ := a["pass"].(string)
		routes = c.pass(key(p, "pass"), target, alts, sc, depth)
	case a["proxy"] != nil:
		target, _ := a["proxy"].(string)
		if up := c.proxy(key(p, "proxy"), target); up != "" {
			routes = each(alts, config.Route{Proxy: up})
		}
	case a["return"] != nil:
		if r := c.ret(p, a); r != nil {
			routes = each(alts, *r)
		}
	case a["share"] != nil:
		if r := c.share(p, a); r != nil {
			routes = each(alts, *r)
		}
	default:
		c.lose(p, "names no pass, proxy, return or share; the step is left out")
		return nil
	}
	ops := c.responseHeaders(key(p, "response_headers"), obj(a["response_headers"]))
	for _, r := range routes {
		if r.SetHeaders == nil && r.RemoveHeaders == nil {
			r.HeaderOps = ops
		}
	}
	for _, k := range sortedKeys(a) {
		switch k {
		case "pass", "proxy", "return", "location", "share", "index", "chroot", "follow_symlinks",
			"traverse_mounts", "types", "fallback", "response_headers":
		default:
			c.lose(key(p, k), "nave has nothing like it")
		}
	}
	return routes
}

// ret converts a return: a redirect with a location, else a respond.
func (c *conv) ret(p string, a map[string]any) *config.Route {
	n, ok := num(a["return"])
	status := int(n)
	if !ok || status < 0 || status > 999 {
		c.lose(key(p, "return"), "is not a status; the step is left out")
		return nil
	}
	loc, hasLoc := a["location"].(string)
	if hasLoc && loc != "" {
		if _, err := action.ParseTemplate(loc); err != nil {
			c.lose(key(p, "location"), "%v; the step is left out", err)
			return nil
		}
		switch status {
		case 301, 302, 303, 307, 308:
			return &config.Route{Redirect: loc, Status: status}
		}
		c.lose(key(p, "location"), "nave sends Location with a redirect status only (301, 302, 303, 307, 308), not %d: the status is kept, the location dropped", status)
	}
	if status < 200 || status > 599 {
		c.lose(key(p, "return"), "nave answers with a status from 200 to 599, not %d; the step is left out", status)
		return nil
	}
	empty := ""
	return &config.Route{Respond: &empty, Status: status}
}

// responseHeaders: plain values are set, null removes; values with
// variables nave cannot fill are lost.
func (c *conv) responseHeaders(p string, h map[string]any) config.HeaderOps {
	var ops config.HeaderOps
	for _, k := range sortedKeys(h) {
		switch v := h[k].(type) {
		case nil:
			ops.RemoveHeaders = append(ops.RemoveHeaders, k)
		case string:
			if strings.Contains(v, "$") {
				c.lose(key(p, k), "nave sets fixed header values, not variables")
				continue
			}
			if ops.SetHeaders == nil {
				ops.SetHeaders = map[string]string{}
			}
			ops.SetHeaders[k] = v
		default:
			c.lose(key(p, k), "is not a string or null")
		}
	}
	return ops
}

// combineAll is every pair of outer and inner alternatives, both
// holding; false when a pair tests one field two ways, or there are too
// many.
func combineAll(outer, inner []config.Match) ([]config.Match, bool) {
	var out []config.Match
	for _, o := range outer {
		for _, in := range inner {
			m, ok := combine(o, in)
			if !ok || len(out) == maxAlternatives {
				return nil, false
			}
			out = append(out, m)
		}
	}
	return out, true
}

// combine is a match holding where both a and b do, false where nave's
// Match cannot say it (both test the path, or one field two ways).
func combine(a, b config.Match) (config.Match, bool) {
	m := a
	if (a.Glob != "" || a.Path != "") && (b.Glob != "" || b.Path != "") && (a.Glob != b.Glob || a.Path != b.Path) {
		return m, false
	}
	if b.Glob != "" || b.Path != "" {
		m.Glob, m.Path = b.Glob, b.Path
	}
	if len(a.Methods) > 0 && len(b.Methods) > 0 && !slices.Equal(a.Methods, b.Methods) ||
		len(a.Hosts) > 0 && len(b.Hosts) > 0 && !slices.Equal(a.Hosts, b.Hosts) {
		return m, false
	}
	if len(b.Methods) > 0 {
		m.Methods = b.Methods
	}
	if len(b.Hosts) > 0 {
		m.Hosts = b.Hosts
	}
	var ok bool
	if m.Headers, ok = union(a.Headers, b.Headers); !ok {
		return m, false
	}
	m.Query, ok = union(a.Query, b.Query)
	return m, ok
}

// union is both maps' entries, false where they give one key two values.
func union(a, b map[string]string) (map[string]string, bool) {
	if len(b) == 0 {
		return a, true
	}
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range b {
		if w, ok := out[k]; ok && w != v {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

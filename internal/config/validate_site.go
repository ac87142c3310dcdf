package config

import (
	"net/netip"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"nave/internal/action"
	"nave/internal/web"
)

func (c *Config) checkSite(e *errs, path string, s *Site) {
	if s == nil {
		return
	}
	for i, h := range s.Hosts {
		if h != "*" && !ValidHost(h) {
			e.add(index(path+".hosts", i), "%q is not a host name, a wildcard as *.example.com, or *", h)
		}
	}
	for i, name := range s.Listeners {
		l, ok := c.Listeners[name]
		switch {
		case !ok:
			e.add(index(path+".listeners", i), "no listener %q%s", name, suggestName(name, c.Listeners))
		case l.RedirectHTTPS != "":
			e.add(index(path+".listeners", i), "listener %q redirects every request to https and serves no site", name)
		}
	}
	checkHeaderOps(e, path, &s.HeaderOps)
	if len(s.Routes) == 0 {
		e.add(path+".routes", "no routes: the site would answer nothing")
	}
	names := map[string]int{}
	for i, r := range s.Routes {
		if r == nil {
			continue
		}
		p := index(path+".routes", i)
		c.checkRoute(e, p, r)
		if r.Name != "" {
			if j, dup := names[r.Name]; dup {
				e.add(p+".name", "%q is also routes[%d]'s name", r.Name, j)
			}
			names[r.Name] = i
		}
		if j := matchesAll(s.Routes[:i]); j >= 0 {
			e.add(p, "never reached: routes[%d] before it matches every request", j)
		}
	}
}

// matchesAll is the index of the first route that matches every request,
// or -1.
func matchesAll(routes []*Route) int {
	for i, r := range routes {
		if r != nil && r.Match.all() {
			return i
		}
	}
	return -1
}

// all: the match holds every request (it is empty, or a path of "/").
func (m Match) all() bool {
	if strings.Trim(m.Path, "/") == "" {
		m.Path = ""
	}
	return reflect.ValueOf(m).IsZero()
}

func (c *Config) checkRoute(e *errs, path string, r *Route) {
	checkMatch(e, path+".match", &r.Match)
	var actions []string
	for _, a := range []struct {
		key string
		set bool
	}{{"root", r.Root != ""}, {"app", r.App != ""}, {"proxy", r.Proxy != ""}, {"redirect", r.Redirect != ""}, {"respond", r.Respond != nil}} {
		if a.set {
			actions = append(actions, a.key)
		}
	}
	switch len(actions) {
	case 0:
		e.add(path, "no action: give one of root, app, proxy, redirect or respond")
	case 1:
	default:
		e.add(path+"."+actions[1], "%s and %s exclude each other: a route has one action", actions[0], actions[1])
	}
	switch {
	case r.Root != "":
		checkFolder(e, path+".root", r.Root)
		checkFiles(e, path, r)
	case r.App != "":
		if _, ok := c.Apps[r.App]; !ok {
			e.add(path+".app", "no app %q%s", r.App, suggestName(r.App, c.Apps))
		}
	case r.Proxy != "":
		if _, ok := c.Upstreams[r.Proxy]; !ok {
			e.add(path+".proxy", "no upstream %q%s", r.Proxy, suggestName(r.Proxy, c.Upstreams))
		}
	case r.Redirect != "":
		checkTemplate(e, path+".redirect", r.Redirect)
		if r.Status < 300 || r.Status > 308 || r.Status == 304 || r.Status == 305 || r.Status == 306 {
			e.add(path+".status", "a redirect's status is 300, 301, 302, 303, 307 or 308, not %d", r.Status)
		}
	case r.Respond != nil:
		checkTemplate(e, path+".respond", *r.Respond)
		if r.Status < 200 || r.Status > 599 {
			e.add(path+".status", "must be from 200 to 599, not %d", r.Status)
		}
		if !web.ValidFieldValue(r.ContentType) {
			e.add(path+".content_type", "is not a valid field value")
		}
	}
	if r.Redirect == "" && r.Respond == nil && r.Status != 0 {
		e.add(path+".status", "only a redirect or respond route has a status")
	}
	if r.Respond == nil && r.ContentType != "" {
		e.add(path+".content_type", "only a respond route has a content_type")
	}
	if r.Root == "" {
		for _, key := range setFields(reflect.ValueOf(r.Files)) {
			e.add(path+"."+key, "only a route with root serves files")
		}
	}
	checkHeaderOps(e, path, &r.HeaderOps)
}

// setFields names the fields of a struct that are not zero.
func setFields(v reflect.Value) []string {
	var keys []string
	for i := range v.NumField() {
		if !v.Field(i).IsZero() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			keys = append(keys, name)
		}
	}
	return keys
}

func checkFiles(e *errs, path string, r *Route) {
	for i, name := range r.Index {
		if name == "" || strings.Contains(name, "/") {
			e.add(index(path+".index", i), "%q is not a file name", name)
		}
	}
	for _, code := range sortedNames(r.ErrorPages) {
		p := path + ".error_pages." + code
		n, err := strconv.Atoi(code)
		if err != nil || n < 400 || n > 599 {
			e.add(p, "only error statuses (400-599) have pages")
		}
		page := r.ErrorPages[code]
		if !strings.HasPrefix(page, "/") {
			e.add(p, "%q is not a path under root (as /404.html)", page)
			continue
		}
		checkFile(e, p, filepath.Join(r.Root, filepath.FromSlash(page)))
	}
	if r.CacheControl != "" && !web.ValidFieldValue(r.CacheControl) {
		e.add(path+".cache_control", "is not a valid field value")
	}
	if r.FileCacheValid < 0 {
		e.add(path+".file_cache_valid", "must not be negative")
	}
}

func checkMatch(e *errs, path string, m *Match) {
	if m.Path != "" && !strings.HasPrefix(m.Path, "/") {
		e.add(path+".path", "%q must start with /", m.Path)
	}
	if strings.ContainsAny(m.Path+m.Glob, "?#") {
		e.add(path, "a path holds no ? or #: match the query with query")
	}
	if m.Glob != "" && !strings.HasPrefix(m.Glob, "/") && !strings.HasPrefix(m.Glob, "*") {
		e.add(path+".glob", "%q must start with / or *", m.Glob)
	}
	for i, meth := range m.Methods {
		if !web.IsToken(meth) || strings.ToUpper(meth) != meth {
			e.add(index(path+".methods", i), "%q is not a method (methods are upper case: GET)", meth)
		}
	}
	for i, h := range m.Hosts {
		if !ValidHost(h) {
			e.add(index(path+".hosts", i), "%q is not a host name or a wildcard as *.example.com", h)
		}
	}
	for _, name := range sortedNames(m.Headers) {
		if !web.ValidFieldName(name) {
			e.add(path+".headers."+name, "is not a header field name")
		}
	}
	for _, name := range sortedNames(m.Query) {
		if name == "" || strings.ContainsAny(name, "&=") {
			e.add(path+".query", "%q is not an argument name", name)
		}
	}
}

// framing are the fields the protocol owns, which no rule may set or remove.
var framing = []string{"content-length", "transfer-encoding", "connection", "date"}

func checkHeaderOps(e *errs, path string, h *HeaderOps) {
	for _, name := range sortedNames(h.SetHeaders) {
		p := path + ".set_headers." + name
		switch {
		case !web.ValidFieldName(name):
			e.add(p, "is not a header field name")
		case slices.Contains(framing, strings.ToLower(name)):
			e.add(p, "%s is the protocol's to send", name)
		case !web.ValidFieldValue(h.SetHeaders[name]):
			e.add(p, "the value holds a control character")
		}
	}
	for i, name := range h.RemoveHeaders {
		p := index(path+".remove_headers", i)
		switch {
		case !web.ValidFieldName(name):
			e.add(p, "%q is not a header field name", name)
		case slices.Contains(framing, strings.ToLower(name)):
			e.add(p, "%s is the protocol's to send", name)
		}
	}
}

func checkTemplate(e *errs, path, s string) {
	if _, err := action.ParseTemplate(s); err != nil {
		e.add(path, "%v", err)
	}
}

func checkApp(e *errs, path string, a *App) {
	if a == nil {
		return
	}
	switch {
	case a.Module == "":
		e.add(path+".module", "is missing: name the app as MODULE:CALLABLE (app:app, mysite.wsgi)")
	case strings.HasPrefix(a.Module, ":") || strings.HasPrefix(a.Module, "-") || strings.ContainsAny(a.Module, " /"):
		e.add(path+".module", "%q is not MODULE:CALLABLE", a.Module)
	}
	if a.Interface != "wsgi" && a.Interface != "asgi" {
		e.add(path+".interface", "%q is not wsgi or asgi", a.Interface)
	}
	if a.Python != "" && a.Virtualenv != "" {
		e.add(path+".python", "python and virtualenv exclude each other: the virtualenv's python is used")
	}
	if a.Python != "" {
		if _, err := exec.LookPath(a.Python); err != nil {
			e.add(path+".python", "%s is not an executable", a.Python)
		}
	}
	if a.Virtualenv != "" {
		if _, err := exec.LookPath(filepath.Join(a.Virtualenv, "bin", "python")); err != nil {
			e.add(path+".virtualenv", "%s has no bin/python", a.Virtualenv)
		}
	}
	if a.Chdir != "" {
		checkFolder(e, path+".chdir", a.Chdir)
	}
	for _, k := range sortedNames(a.Environment) {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(a.Environment[k], 0) {
			e.add(path+".environment."+k, "is not a valid environment variable")
		}
	}
	for _, n := range []struct {
		key string
		v   int
		min int
	}{{"workers", a.Workers, 0}, {"max_requests", a.MaxRequests, 0}, {"backlog", a.Backlog, 1}} {
		if n.v < n.min {
			e.add(path+"."+n.key, "must be %d or more, not %d", n.min, n.v)
		}
	}
	if a.Timeout == 0 || a.Timeout < Off {
		e.add(path+".timeout", "must be positive, or off")
	}
	if a.StartTimeout <= 0 {
		e.add(path+".start_timeout", "must be positive")
	}
	checkASGI(e, path, a)
}

// checkASGI checks the keys only an ASGI app has.
func checkASGI(e *errs, path string, a *App) {
	if a.Interface != "asgi" {
		for _, k := range []struct {
			key string
			set bool
		}{{"lifespan", a.Lifespan != ""}, {"loop", a.Loop != ""}, {"native", a.Native != ""}, {"limit_concurrency", a.LimitConcurrency != 0},
			{"ws_max_message", a.WSMaxMessage != 0}, {"ws_ping_interval", a.WSPingInterval != 0}} {
			if k.set {
				e.add(path+"."+k.key, "is for interface \"asgi\" apps only")
			}
		}
		return
	}
	if a.Lifespan != "" && a.Lifespan != "auto" && a.Lifespan != "on" && a.Lifespan != "off" {
		e.add(path+".lifespan", "%q is not auto, on or off", a.Lifespan)
	}
	if a.Loop != "" && a.Loop != "auto" && a.Loop != "asyncio" && a.Loop != "uvloop" {
		e.add(path+".loop", "%q is not auto, asyncio or uvloop", a.Loop)
	}
	if a.Native != "" && a.Native != "auto" && a.Native != "on" && a.Native != "off" {
		e.add(path+".native", "%q is not auto, on or off", a.Native)
	}
	if a.LimitConcurrency < 0 {
		e.add(path+".limit_concurrency", "must be 0 or more, not %d", a.LimitConcurrency)
	}
	if a.WSMaxMessage < 0 {
		e.add(path+".ws_max_message", "must be a size, not negative")
	}
	if a.WSPingInterval < Off {
		e.add(path+".ws_ping_interval", "must be positive, or off")
	}
}

// checkHosts finds a host two sites claim on one listener, and listeners
// with two default sites.
func (c *Config) checkHosts(e *errs) {
	type claim struct{ site, path string }
	owners := map[string]claim{} // listener + " " + host → first claim
	for _, name := range sortedNames(c.Sites) {
		s := c.Sites[name]
		if s == nil {
			continue
		}
		hosts, paths := s.Hosts, make([]string, len(s.Hosts))
		for i := range hosts {
			paths[i] = index("sites."+name+".hosts", i)
		}
		if len(hosts) == 0 {
			hosts, paths = []string{"*"}, []string{"sites." + name}
		}
		for _, l := range c.siteListeners(s) {
			for i, h := range hosts {
				key := l + " " + strings.ToLower(h)
				if first, ok := owners[key]; ok && first.site != name {
					what := strconv.Quote(h) + " is also sites." + first.site + "'s host"
					if h == "*" {
						what = "a second default site (no hosts, or *): sites." + first.site + " is one"
					}
					e.add(paths[i], "%s on listener %s", what, l)
					continue
				}
				owners[key] = claim{name, paths[i]}
			}
		}
	}
}

// siteListeners are the listeners a site is served on.
func (c *Config) siteListeners(s *Site) []string {
	if len(s.Listeners) > 0 {
		return s.Listeners
	}
	var all []string
	for _, name := range sortedNames(c.Listeners) {
		if l := c.Listeners[name]; l != nil && l.RedirectHTTPS == "" {
			all = append(all, name)
		}
	}
	return all
}

// SiteListeners are the names of the listeners s is served on.
func (c *Config) SiteListeners(s *Site) []string { return c.siteListeners(s) }

// ValidHost reports whether h is a host name (letters, digits, "-", "_"
// and dots; an IP address) or a wildcard of one leading label
// ("*.example.com").
func ValidHost(h string) bool {
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return true
	}
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

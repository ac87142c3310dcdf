package unit

import (
	"math"
	"path"
	"strings"

	"nave/internal/config"
)

// applications converts the python applications; every other type is a
// Loss, and so are the routes that pass to it.
func (c *conv) applications(p string, apps map[string]any) {
	for _, n := range sortedKeys(apps) {
		ap := key(p, n)
		a := obj(apps[n])
		typ, _ := a["type"].(string)
		if typ != "python" && !strings.HasPrefix(typ, "python ") {
			c.lose(key(ap, "type"), "nave runs Python apps only, not %q; routes to it are left out", typ)
			c.apps[n] = ""
			continue
		}
		base := c.app(ap, a)
		targets := obj(a["targets"])
		if len(targets) == 0 {
			base.Module = module(a)
			nn := c.addApp(n, base)
			c.apps[n] = nn
			c.setPrefix(nn, a)
			continue
		}
		for _, t := range sortedKeys(targets) {
			tp := key(key(ap, "targets"), t)
			ta := obj(targets[t])
			app := *base
			app.Module = module(ta)
			for _, k := range sortedKeys(ta) {
				if k != "module" && k != "callable" && k != "prefix" {
					c.lose(key(tp, k), "nave has nothing like it")
				}
			}
			nn := c.addApp(n+"_"+t, &app)
			c.apps[n+"/"+t] = nn
			c.setPrefix(nn, ta)
		}
	}
}

func (c *conv) addApp(n string, a *config.App) string {
	nn := name(n, func(s string) bool { _, ok := c.out.Apps[s]; return ok })
	c.out.Apps[nn] = a
	return nn
}

func (c *conv) setPrefix(app string, a map[string]any) {
	if p, _ := a["prefix"].(string); p != "" && p != "/" {
		c.prefix[app] = strings.TrimSuffix(p, "/")
	}
}

// module is MODULE:CALLABLE, Unit's callable defaulting to "application".
func module(a map[string]any) string {
	m, _ := a["module"].(string)
	call, _ := a["callable"].(string)
	if call == "" {
		call = "application"
	}
	return m + ":" + call
}

// app converts what an application and its targets share.
func (c *conv) app(p string, a map[string]any) *config.App {
	out := &config.App{Workers: 1} // Unit starts one process unless told more
	wd, _ := a["working_directory"].(string)
	out.Chdir = wd
	for _, k := range sortedKeys(a) {
		kp := key(p, k)
		v := a[k]
		switch k {
		case "type", "module", "callable", "targets", "prefix", "working_directory":
		case "protocol":
			switch v {
			case "wsgi":
			case "asgi":
				out.Interface = "asgi"
			default:
				c.lose(kp, "is not wsgi or asgi")
			}
		case "home":
			out.Virtualenv, _ = v.(string)
		case "path":
			c.pythonPath(kp, out, v)
		case "environment":
			for _, ek := range sortedKeys(obj(v)) {
				if out.Environment == nil {
					out.Environment = map[string]string{}
				}
				s, ok := obj(v)[ek].(string)
				if !ok {
					c.lose(key(kp, ek), "is not a string")
					continue
				}
				out.Environment[ek] = s
			}
		case "processes":
			c.processes(kp, out, v)
		case "limits":
			c.limits(kp, out, obj(v))
		case "threads":
			if n, _ := num(v); n > 1 {
				c.lose(kp, "nave's workers take one request at a time: raise workers instead")
			}
		case "user", "group":
			c.lose(kp, "nave runs workers as its own user: start nave as %v", v)
		default:
			c.lose(kp, "nave has nothing like it")
		}
	}
	return out
}

// pythonPath: the working directory is on sys.path already (as the
// script's folder); other folders go in PYTHONPATH, which Python puts in
// front of sys.path as Unit's path does.
func (c *conv) pythonPath(p string, out *config.App, v any) {
	dirs, ok := strs(v)
	if !ok {
		c.lose(p, "is not a folder or a list of them")
		return
	}
	var extra []string
	for _, d := range dirs {
		switch {
		case out.Chdir == "" && path.IsAbs(d) && len(dirs) == 1:
			out.Chdir = d
		case d == "." || d == "./" || path.Clean(d) == path.Clean(out.Chdir):
		default:
			extra = append(extra, d)
		}
	}
	if len(extra) == 0 {
		return
	}
	if out.Environment == nil {
		out.Environment = map[string]string{}
	}
	if pp := out.Environment["PYTHONPATH"]; pp != "" {
		extra = append(extra, pp)
	}
	out.Environment["PYTHONPATH"] = strings.Join(extra, ":")
}

// processes: nave runs a fixed number of workers, Unit's max.
func (c *conv) processes(p string, out *config.App, v any) {
	if n, ok := num(v); ok {
		out.Workers = max(1, int(n))
		return
	}
	pr := obj(v)
	maxN, spare := 1.0, 0.0
	if n, ok := num(pr["max"]); ok {
		maxN = n
	}
	if n, ok := num(pr["spare"]); ok {
		spare = n
	}
	out.Workers = max(1, int(maxN))
	if spare != maxN || pr["idle_timeout"] != nil {
		c.lose(p, "nave keeps max (%d) workers running, not spare ones grown and shrunk", out.Workers)
	}
}

func (c *conv) limits(p string, out *config.App, l map[string]any) {
	for _, k := range sortedKeys(l) {
		n, ok := num(l[k])
		switch {
		case !ok || n <= 0:
			c.lose(key(p, k), "is not a positive number")
		case k == "timeout":
			out.Timeout = seconds(n)
		case k == "requests":
			out.MaxRequests = int(math.Min(n, math.MaxInt32))
		default:
			c.lose(key(p, k), "nave has nothing like it")
		}
	}
}

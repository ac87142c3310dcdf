package unit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"nave/internal/config"
)

// Loss is a part of the Unit configuration that the nave config does not
// carry, or carries with a different behaviour: its JSON path
// ("routes.main[0].match.cookies", `listeners["*:443"].tls.certificate`)
// and what became of it.
type Loss struct {
	Path string
	Why  string
}

func (l Loss) String() string { return l.Path + ": " + l.Why }

// Errors of a document that is not a Unit configuration at all.
var (
	ErrNotObject   = errors.New("unit: not a JSON object")
	ErrNoListeners = errors.New("unit: no listeners: nothing would be served")
)

// Convert reads a Unit configuration and returns the nave config that
// does what it did, with every Loss in the order of the document's
// sections (applications, upstreams, listeners and routes, settings).
// The config is neither completed nor validated: its folders and
// interpreters are those of the machine Unit ran on.
func Convert(data []byte) (*config.Config, []Loss, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, nil, fmt.Errorf("unit: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, nil, errors.New("unit: data after the JSON object")
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, nil, ErrNotObject
	}
	base := ""
	if inner, ok := top["config"].(map[string]any); ok && top["listeners"] == nil {
		top, base = inner, "config" // the whole of GET / of the control API
	}
	if len(obj(top["listeners"])) == 0 {
		return nil, nil, ErrNoListeners
	}
	c := &conv{
		src: top,
		out: &config.Config{Apps: map[string]*config.App{}, Upstreams: map[string]*config.Upstream{},
			Listeners: map[string]*config.Listener{}, Sites: map[string]*config.Site{}},
		apps:    map[string]string{},
		prefix:  map[string]string{},
		proxies: map[string]string{},
	}
	for _, k := range sortedKeys(top) {
		if k == "certificates" || k == "status" || k == "js_modules" && len(obj(top[k])) == 0 {
			continue // not configuration, or nothing in it
		}
		switch k {
		case "listeners", "routes", "applications", "upstreams", "settings", "access_log":
		default:
			c.lose(key(base, k), "nave has nothing like it")
		}
	}
	c.applications(key(base, "applications"), obj(top["applications"]))
	c.upstreams(key(base, "upstreams"), obj(top["upstreams"]))
	c.routesBase = key(base, "routes")
	c.listeners(key(base, "listeners"), obj(top["listeners"]))
	c.settings(key(base, "settings"), obj(top["settings"]))
	c.accessLog(key(base, "access_log"), top["access_log"])
	return c.out, c.lost, nil
}

// conv is one conversion's state.
type conv struct {
	src        map[string]any
	out        *config.Config
	lost       []Loss
	routesBase string
	apps       map[string]string // "NAME" or "NAME/TARGET" → nave app; "" not converted
	prefix     map[string]string // nave app → Unit's prefix (SCRIPT_NAME)
	proxies    map[string]string // proxy address → nave upstream
}

func (c *conv) lose(path, format string, args ...any) {
	c.lost = append(c.lost, Loss{path, fmt.Sprintf(format, args...)})
}

// obj is v as an object, nil if it is not one.
func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// strs is a string or an array of strings as a list; ok is false for
// anything else.
func strs(v any) (list []string, ok bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		for _, el := range v {
			s, isStr := el.(string)
			if !isStr {
				return nil, false
			}
			list = append(list, s)
		}
		return list, true
	}
	return nil, false
}

// num is a JSON number (or a numeric string, which Unit accepts in places).
func num(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

// seconds is a Unit time in seconds as a Duration.
func seconds(f float64) config.Duration {
	return config.Duration(time.Duration(f * float64(time.Second)))
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// key is the JSON path of member k of the object at path: ".k" where k is
// a plain word, else `["k"]`.
func key(path, k string) string {
	plain := k != ""
	for i := 0; i < len(k); i++ {
		ch := k[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-') {
			plain = false
		}
	}
	switch {
	case !plain:
		return path + "[" + strconv.Quote(k) + "]"
	case path == "":
		return k
	}
	return path + "." + k
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// name makes s a nave name: letters, digits, "-" and "_" kept, anything
// else "_", unique among taken.
func name(s string, taken func(string) bool) string {
	b := []byte(s)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-') {
			b[i] = '_'
		}
	}
	n := string(b)
	if n == "" {
		n = "unit"
	}
	for i := 2; taken(n); i++ {
		n = fmt.Sprintf("%s_%d", string(b), i)
	}
	return n
}

func (c *conv) settings(path string, s map[string]any) {
	for _, k := range sortedKeys(s) {
		if k != "http" {
			c.lose(key(path, k), "nave has nothing like it")
		}
	}
	h := obj(s["http"])
	path = key(path, "http")
	for _, k := range sortedKeys(h) {
		p := key(path, k)
		f, isNum := num(h[k])
		switch t := &c.out.Timeouts; k {
		case "header_read_timeout", "body_read_timeout", "send_timeout", "idle_timeout":
			if !isNum || f <= 0 {
				c.lose(p, "is not a positive number of seconds")
				continue
			}
			*map[string]*config.Duration{"header_read_timeout": &t.Head, "body_read_timeout": &t.Body,
				"send_timeout": &t.Write, "idle_timeout": &t.Idle}[k] = seconds(f)
		case "max_body_size":
			if !isNum || f < 1 || f > math.MaxInt64/2 {
				c.lose(p, "is not a positive number of bytes")
				continue
			}
			c.out.Limits.MaxBody = config.Size(f)
		case "server_version":
			if v, _ := h[k].(bool); v {
				c.lose(p, "nave sends no Server version")
			}
		case "discard_unsafe_fields":
			if v, _ := h[k].(bool); !v {
				c.lose(p, "nave keeps fields with unsafe names out of apps and upstreams always")
			}
		default:
			c.lose(p, "nave has nothing like it")
		}
	}
}

func (c *conv) accessLog(path string, v any) {
	switch v := v.(type) {
	case nil:
		c.out.Log.Access = "off" // Unit logs no requests unless told to
	case string:
		c.out.Log.Access = logFile(v)
	case map[string]any:
		p, _ := v["path"].(string)
		c.out.Log.Access = logFile(p)
		if f, ok := v["format"]; ok {
			c.lose(key(path, "format"), "nave writes the combined or json format (log.format), not %v", f)
		}
	default:
		c.lose(path, "is not a file name")
	}
}

func logFile(p string) string {
	if p == "" || p == "/dev/stdout" {
		return "-"
	}
	return p
}

func (c *conv) upstreams(path string, ups map[string]any) {
	for _, n := range sortedKeys(ups) {
		p := key(path, n)
		u := &config.Upstream{}
		servers := obj(obj(ups[n])["servers"])
		for _, addr := range sortedKeys(servers) {
			sp := key(key(p, "servers"), addr)
			if _, _, err := net.SplitHostPort(addr); err != nil {
				c.lose(sp, "is not an IP:PORT nave can connect to; the server is left out")
				continue
			}
			u.Servers = append(u.Servers, addr)
			if w, ok := num(obj(servers[addr])["weight"]); ok && w != 1 {
				rounded := max(1, int(math.Round(w)))
				if float64(rounded) != w {
					c.lose(key(sp, "weight"), "nave's weights are whole numbers: %g becomes %d", w, rounded)
				}
				if u.Weights == nil {
					u.Weights = map[string]int{}
				}
				u.Weights[addr] = rounded
			}
		}
		if len(u.Servers) == 0 {
			c.lose(p, "has no server nave can use; routes to it are left out")
			continue
		}
		c.out.Upstreams[n] = u
	}
}

// proxy is the upstream a proxy action's address becomes, "" when nave
// cannot connect to it.
func (c *conv) proxy(path, target string) string {
	addr, ok := strings.CutPrefix(target, "http://")
	if !ok || strings.HasPrefix(addr, "unix:") || strings.Contains(addr, "$") {
		c.lose(path, "nave proxies to HOST:PORT over TCP, not to %q; the route is left out", target)
		return ""
	}
	addr = strings.TrimSuffix(addr, "/")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "80")
	}
	if n, ok := c.proxies[addr]; ok {
		return n
	}
	n := name("proxy_"+addr, func(s string) bool { _, ok := c.out.Upstreams[s]; return ok })
	c.out.Upstreams[n] = &config.Upstream{Servers: []string{addr}}
	c.proxies[addr] = n
	return n
}

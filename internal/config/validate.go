package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"nave/internal/accesslog"
	"nave/internal/web"
)

// Validate checks a completed config and returns every problem at once,
// as a List, or nil. Parse and Load call it; a config built in code (the
// admin API to come) should too. The nave serve and nave wsgi shorthands
// do not: their flags are checked as flags, with the flags' messages.
func (c *Config) Validate() error {
	e := &errs{}
	c.validate(e)
	return e.err()
}

func (c *Config) validate(e *errs) {
	for _, name := range sortedNames(c.Listeners) {
		c.checkListener(e, "listeners."+name, name, c.Listeners[name])
	}
	c.checkAddresses(e)
	if len(c.Sites) == 0 {
		e.add("sites", "no sites: nothing to serve (add a [sites.NAME] with routes)")
	}
	for _, name := range sortedNames(c.Sites) {
		c.checkSite(e, "sites."+name, c.Sites[name])
	}
	c.checkHosts(e)
	for _, name := range sortedNames(c.Apps) {
		checkApp(e, "apps."+name, c.Apps[name])
	}
	for _, name := range sortedNames(c.Upstreams) {
		checkUpstream(e, "upstreams."+name, c.Upstreams[name])
	}
	c.checkServer(e)
	c.checkAdmin(e)
}

// maxSocketPath is the longest path a Unix socket can be bound to
// (sun_path is 108 bytes on Linux, with its NUL).
const maxSocketPath = 107

// SocketPathProblem says what is wrong with path as a listener's Unix
// socket, "" when nothing is.
func SocketPathProblem(path string) string {
	switch {
	case !filepath.IsAbs(path):
		return "a Unix socket's path must be absolute (as unix:/run/nave/http.sock)"
	case len(path) > maxSocketPath:
		return fmt.Sprintf("the path is %d bytes long; a Unix socket's is at most %d", len(path), maxSocketPath)
	}
	return ""
}

func (c *Config) checkAdmin(e *errs) {
	if s := c.Admin.Socket; s != "off" && len(s) > maxSocketPath {
		e.add("admin.socket", "is %d bytes long; a Unix socket's path is at most %d", len(s), maxSocketPath)
	}
	if c.Admin.Metrics != "" {
		checkAddress(e, "admin.metrics", c.Admin.Metrics)
	}
	if c.Admin.Status != "" {
		checkAddress(e, "admin.status", c.Admin.Status)
	}
	if c.Admin.Listen == "" {
		return
	}
	host, _, err := net.SplitHostPort(c.Admin.Listen)
	if err != nil {
		checkAddress(e, "admin.listen", c.Admin.Listen)
		return
	}
	if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
		e.add("admin.listen", "%q is not a loopback address (as 127.0.0.1:2019): the admin API reconfigures nave and has no password", c.Admin.Listen)
		return
	}
	checkAddress(e, "admin.listen", c.Admin.Listen)
}

func (c *Config) checkListener(e *errs, path, name string, l *Listener) {
	if l == nil {
		return
	}
	if p, ok := SocketPath(l.Address); ok {
		if problem := SocketPathProblem(p); problem != "" {
			e.add(path+".address", "%q: %s", l.Address, problem)
		}
	} else {
		checkAddress(e, path+".address", l.Address)
	}
	if len(l.Protocols) == 0 {
		e.add(path+".protocols", "names no protocol: give h1, and h2 or h2c if wanted")
	}
	for i, p := range l.Protocols {
		switch {
		case p != "h1" && p != "h2" && p != "h2c":
			e.add(index(path+".protocols", i), "%q is not h1, h2 or h2c", p)
		case slices.Index(l.Protocols, p) != i:
			e.add(index(path+".protocols", i), "%q is named twice", p)
		}
	}
	if len(l.Protocols) > 0 && !slices.Contains(l.Protocols, "h1") {
		e.add(path+".protocols", "must include h1: nave has no HTTP/2-only listener")
	}
	for i, p := range l.TrustedProxies {
		if _, ok := ParseProxy(p); !ok {
			e.add(index(path+".trusted_proxies", i), "%q is not an address, a CIDR prefix (as 10.0.0.0/8) or unix", p)
		}
	}
	if l.TLS != nil {
		c.checkTLS(e, path+".tls", name, l)
	}
	if l.RedirectHTTPS != "" {
		target, ok := c.Listeners[l.RedirectHTTPS]
		switch {
		case !ok:
			e.add(path+".redirect_https", "no listener %q%s", l.RedirectHTTPS, suggestName(l.RedirectHTTPS, c.Listeners))
		case target.TLS == nil:
			e.add(path+".redirect_https", "listener %q has no tls to redirect to", l.RedirectHTTPS)
		case l.TLS != nil:
			e.add(path+".redirect_https", "a listener with tls redirects to nothing: only a cleartext listener can redirect to https")
		}
	}
}

func (c *Config) checkTLS(e *errs, path, name string, l *Listener) {
	t := l.TLS
	sources := 0
	for _, on := range []bool{len(t.Certificates) > 0, t.SelfSigned, t.ACME != nil} {
		if on {
			sources++
		}
	}
	switch {
	case sources == 0:
		e.add(path, "no certificates: give certificates, self_signed = true, or acme with names")
	case sources > 1:
		e.add(path, "certificates, self_signed and acme exclude each other")
	}
	for i, cf := range t.Certificates {
		p := index(path+".certificates", i)
		checkFile(e, p+".cert", cf.Cert)
		checkFile(e, p+".key", cf.Key)
	}
	if t.TicketKeys != "" {
		checkFile(e, path+".ticket_keys", t.TicketKeys)
	}
	for i, n := range t.Names {
		if n == "" || strings.ContainsAny(n, "/: \t*") && net.ParseIP(n) == nil {
			e.add(index(path+".names", i), "%q is not a host name", n)
		}
	}
	if t.HandshakeTimeout <= 0 {
		e.add(path+".handshake_timeout", "must be positive")
	}
	if t.HSTS < 0 {
		e.add(path+".hsts", "must not be negative (0, the default, sends none)")
	}
	if t.ACME == nil {
		return
	}
	a := t.ACME
	if len(t.Names) == 0 {
		e.add(path+".names", "acme needs the names to get certificates for")
	}
	if a.CARoot != "" {
		checkFile(e, path+".acme.ca_root", a.CARoot)
	}
	for i, ch := range a.Challenges {
		p := index(path+".acme.challenges", i)
		switch {
		case ch != "http-01" && ch != "tls-alpn-01":
			e.add(p, "%q is not http-01 or tls-alpn-01", ch)
		case ch == "http-01" && !c.redirectsTo(name):
			e.add(p, "http-01 needs a cleartext listener with redirect_https = %q: the CA asks on port 80", name)
		}
	}
}

// redirectsTo reports whether a listener redirects to the named one.
func (c *Config) redirectsTo(name string) bool {
	for _, l := range c.Listeners {
		if l != nil && l.RedirectHTTPS == name {
			return true
		}
	}
	return false
}

// checkAddresses finds two listeners on one address.
func (c *Config) checkAddresses(e *errs) {
	seen := map[string]string{}
	for _, name := range sortedNames(c.Listeners) {
		l := c.Listeners[name]
		if l == nil || strings.HasSuffix(l.Address, ":0") {
			continue
		}
		if other, ok := seen[l.Address]; ok {
			e.add("listeners."+name+".address", "%s is also listeners.%s's address", l.Address, other)
			continue
		}
		seen[l.Address] = name
	}
}

func checkAddress(e *errs, path, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		e.add(path, "%q is not HOST:PORT (as 127.0.0.1:8000 or 0.0.0.0:443)", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		e.add(path, "port %q is not a number from 0 to 65535", port)
	}
	_ = host // a name is looked up when the listener opens
}

// checkFile checks that a file can be read.
func checkFile(e *errs, path, file string) {
	if file == "" {
		e.add(path, "is empty: name a file")
		return
	}
	f, err := os.Open(file)
	if err != nil {
		e.add(path, "%s", fileProblem(err))
		return
	}
	f.Close()
}

// checkFolder checks that a folder exists.
func checkFolder(e *errs, path, dir string) {
	info, err := os.Stat(dir)
	switch {
	case err != nil:
		e.add(path, "%s", strings.Replace(fileProblem(err), "file", "folder", 1))
	case !info.IsDir():
		e.add(path, "%s is not a folder", dir)
	}
}

// fileProblem says what is wrong with a path, shortly.
func fileProblem(err error) string {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "file does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "file cannot be read (permission denied)"
	case errors.As(err, &pe):
		return pe.Err.Error()
	}
	return err.Error()
}

func checkUpstream(e *errs, path string, u *Upstream) {
	if u == nil {
		return
	}
	if len(u.Servers) == 0 {
		e.add(path+".servers", "names no server")
	}
	for i, s := range u.Servers {
		checkAddress(e, index(path+".servers", i), s)
	}
	for _, s := range sortedNames(u.Weights) {
		switch {
		case !slices.Contains(u.Servers, s):
			e.add(path+".weights."+s, "is not one of servers")
		case u.Weights[s] < 1 || u.Weights[s] > 1000:
			e.add(path+".weights."+s, "must be from 1 to 1000")
		}
	}
	switch u.Balance {
	case "round_robin", "least_conn", "random2", "hash":
	default:
		e.add(path+".balance", "%q is not round_robin, least_conn, random2 or hash", u.Balance)
	}
	switch k := u.HashKey; {
	case k == "", k == "client":
	case (strings.HasPrefix(k, "header:") || strings.HasPrefix(k, "cookie:")) && len(k) > 7 && web.IsToken(k[7:]):
	default:
		e.add(path+".hash_key", "%q is not client, header:NAME or cookie:NAME", k)
	}
	if u.HashKey != "" && u.Balance != "hash" {
		e.add(path+".hash_key", "is used only with balance = \"hash\"")
	}
	if u.ProxyProtocol < 0 || u.ProxyProtocol > 2 {
		e.add(path+".proxy_protocol", "must be 0 (none), 1 or 2")
	}
	if u.H2C && u.ProxyProtocol != 0 {
		e.add(path+".h2c", "h2c and proxy_protocol exclude each other: a PROXY header names one client, an HTTP/2 connection carries many")
	}
	for _, n := range []struct {
		key string
		v   *int
	}{{"keepalive", u.KeepAlive}, {"retries", u.Retries}, {"max_fails", u.MaxFails}} {
		if n.v != nil && *n.v < 0 {
			e.add(path+"."+n.key, "cannot be negative")
		}
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"connect_timeout", u.ConnectTimeout}, {"header_timeout", u.HeaderTimeout}, {"read_timeout", u.ReadTimeout},
		{"write_timeout", u.WriteTimeout}, {"tunnel_idle", u.TunnelIdle}, {"idle_timeout", u.IdleTimeout},
		{"retry_timeout", u.RetryTimeout}, {"fail_timeout", u.FailTimeout}, {"slow_start", u.SlowStart}} {
		if d.v < 0 && d.v != Off {
			e.add(path+"."+d.key, "cannot be negative")
		}
	}
	if h := u.Health; h != nil {
		hp := path + ".health"
		if !strings.HasPrefix(h.Path, "/") {
			e.add(hp+".path", "must be a path starting with /")
		}
		if h.Status != 0 && (h.Status < 100 || h.Status > 599) {
			e.add(hp+".status", "must be from 100 to 599")
		}
		if h.Rise < 0 || h.Fall < 0 {
			e.add(hp, "rise and fall cannot be negative")
		}
		if h.Interval < 0 || h.Timeout < 0 {
			e.add(hp, "interval and timeout must be positive")
		}
	}
}

func (c *Config) checkServer(e *errs) {
	l := c.Limits
	for _, s := range []struct {
		key string
		n   Size
	}{{"max_request_line", l.MaxRequestLine}, {"max_header_bytes", l.MaxHeaderBytes}} {
		if s.n < 0 || s.n > 1<<30 {
			e.add("limits."+s.key, "must be from 1 to 1g")
		}
	}
	if l.MaxBody < 0 {
		e.add("limits.max_body", "cannot be off")
	}
	if l.MaxHeaders <= 0 {
		e.add("limits.max_headers", "must be positive")
	}
	t := c.Timeouts
	for _, d := range []struct {
		key string
		v   Duration
	}{{"head", t.Head}, {"body", t.Body}, {"write", t.Write}, {"idle", t.Idle}, {"drain", t.Drain}, {"upgrade", t.Upgrade}} {
		if d.v <= 0 {
			e.add("timeouts."+d.key, "must be positive")
		}
	}
	if t.DrainDelay < 0 {
		e.add("timeouts.drain_delay", "must not be negative")
	}
	h := c.HTTP2
	for _, b := range h.Bounds() {
		if b.N < b.Min || b.N > b.Max {
			e.add("http2."+b.Key, "must be from %s to %s", FormatSize(b.Min), FormatSize(b.Max))
		}
	}
	if h.SettingsTimeout <= 0 {
		e.add("http2.settings_timeout", "must be positive")
	}
	if _, err := accesslog.ParseFormat(c.Log.Format); errors.Is(err, accesslog.ErrUnknownFormat) {
		e.add("log.format", "%q is not combined, json or a format string with $variables", c.Log.Format)
	} else if err != nil {
		e.add("log.format", "%s", strings.TrimPrefix(err.Error(), "accesslog: "))
	}
	if id := c.Log.RequestID; id != "off" && !web.ValidFieldName(id) {
		e.add("log.request_id", "%q is not a header field name or \"off\"", id)
	}
	if p := c.Log.TracePath; p != "" && !strings.HasPrefix(p, "/") {
		e.add("log.trace_path", "%q does not start with \"/\"", p)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		e.add("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
}

// sortedNames lists a map's keys in order, so that errors come in a
// stable order.
func sortedNames[T any](m map[string]T) []string { return slices.Sorted(maps.Keys(m)) }

// suggestName is " (did you mean \"x\"?)" for the name in m nearest to
// name, or "".
func suggestName[T any](name string, m map[string]T) string {
	known := make(map[string][]int, len(m))
	for k := range m {
		known[k] = nil
	}
	return suggest(name, known)
}

// Bound is a numeric setting and the range it must be in.
type Bound struct {
	Key         string
	N, Min, Max int64
}

// Bounds are HTTP/2's numeric settings with their ranges (RFC 9113 §6.5.2
// for the frame size and windows; the rest bound what a client can make
// nave hold).
func (h *HTTP2) Bounds() []Bound {
	return []Bound{
		{"max_streams", h.MaxStreams, 1, 1 << 20},
		{"max_header_list", int64(h.MaxHeaderList), 1 << 10, 16 << 20},
		{"max_frame", int64(h.MaxFrame), 16 << 10, 1<<24 - 1},
		{"stream_window", int64(h.StreamWindow), 65535, 1<<31 - 1},
		{"conn_window", int64(h.ConnWindow), 65535, 1<<31 - 1},
		{"flood_rate", h.FloodRate, 1, 1 << 30},
	}
}

// UnixPeers is the entry of trusted_proxies that trusts whoever connects
// to a listener on a Unix socket (whose peers have no address).
const UnixPeers = "unix"

// ParseProxy reads an entry of trusted_proxies: an address (a prefix of
// its full length), a CIDR prefix, or UnixPeers, whose stand-in is the
// zero Prefix (web.Trusted). ok is false for anything else.
func ParseProxy(p string) (prefix netip.Prefix, ok bool) {
	if p == UnixPeers {
		return netip.Prefix{}, true
	}
	if pf, err := netip.ParsePrefix(p); err == nil {
		return pf.Masked(), true
	}
	if a, err := netip.ParseAddr(p); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// SocketPath is the path of a listener address that names a Unix socket,
// "unix:PATH"; ok is false for a HOST:PORT.
func SocketPath(addr string) (path string, ok bool) {
	return strings.CutPrefix(addr, "unix:")
}

package servers

import (
	"fmt"
	"os"
	"path/filepath"

	"nave/bench/internal/proc"
)

// Upstream is the server every proxy passes to: nginx serving the
// document root (a fixed 14 B body, 1 KiB and 1 MiB files), pinned to cpu,
// the load generator's CPU, so that the proxy's CPU is the proxy's alone.
func Upstream(e *Env, addr, root string, cpu int) (proc.Spec, error) {
	u := *e
	u.CPU = cpu
	u.Tmp = filepath.Join(e.Tmp, "upstream")
	if err := os.MkdirAll(u.Tmp, 0o755); err != nil {
		return proc.Spec{}, err
	}
	s, err := nginxSpec(&u, addr, root, nil, false)
	s.Name = "upstream-nginx"
	return s, err
}

// Every proxy keeps idle connections to the upstream (nginx's keepalive
// 64, Caddy's and HAProxy's pools), logs nothing, and sets no fields
// beyond its defaults.

func naveProxy(e *Env, addr, upstream string) (proc.Spec, error) {
	dir, err := scratch(e, "nave-proxy")
	if err != nil {
		return proc.Spec{}, err
	}
	conf := filepath.Join(dir, "nave.toml")
	text := fmt.Sprintf("[listeners.main]\naddress = %q\nprotocols = [\"h1\"]\n\n[log]\naccess = \"off\"\n\n"+
		"[upstreams.up]\nservers = [%q]\n\n[sites.main]\n[[sites.main.routes]]\nproxy = \"up\"\n", addr, upstream)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return proc.Spec{}, err
	}
	// Its own state folder: a nave already running on the machine holds
	// the default admin socket.
	s := spec(e, "nave", e.Nave, "run", "--config", conf, "--state-dir", dir)
	s.Env = []string{goMaxProcs}
	return s, nil
}

// nginxProxy is nginx as it serves files here (nginxConf), with a
// location that proxies to the upstream instead.
func nginxProxy(e *Env, addr, upstream string) (proc.Spec, error) {
	return nginxSpecData(e, nginxData{Addr: addr, Upstream: upstream})
}

func caddyProxy(e *Env, addr, upstream string) (proc.Spec, error) {
	dir, err := scratch(e, "caddy-proxy")
	if err != nil {
		return proc.Spec{}, err
	}
	text := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n}\n\nhttp://%s {\n\treverse_proxy %s\n}\n", addr, upstream)
	conf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return proc.Spec{}, err
	}
	s := spec(e, "caddy", "caddy", "run", "--config", conf, "--adapter", "caddyfile")
	s.Env = []string{goMaxProcs, "HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	return s, nil
}

// haproxyCfg is HAProxy in HTTP mode, one thread, reusing idle server
// connections (http-reuse always), with X-Forwarded-For.
const haproxyCfg = `global
    nbthread 1
    maxconn 4096
    pidfile %[1]s/haproxy.pid

defaults
    mode http
    timeout connect 5s
    timeout client 75s
    timeout server 60s
    timeout http-keep-alive 75s
    option http-keep-alive
    option forwardfor
    http-reuse always

frontend web
    bind %[2]s
    default_backend up

backend up
    server s1 %[3]s
`

func haproxyProxy(e *Env, addr, upstream string) (proc.Spec, error) {
	dir, err := scratch(e, "haproxy")
	if err != nil {
		return proc.Spec{}, err
	}
	conf := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(haproxyCfg, dir, addr, upstream)), 0o644); err != nil {
		return proc.Spec{}, err
	}
	return spec(e, "haproxy", "haproxy", "-db", "-f", conf), nil
}

package servers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"nave/bench/internal/proc"
)

// Go servers run with GOMAXPROCS=1: they are pinned to one CPU anyway, and
// more Ps than CPUs only adds scheduler work.
const goMaxProcs = "GOMAXPROCS=1"

func checkNave(e *Env) error {
	if _, err := os.Stat(e.Nave); err != nil {
		return fmt.Errorf("nave binary: %w", err)
	}
	return nil
}

// naveServe is nave configured as nginx is here: nginx trusts what its
// open_file_cache knows of a file for 60 s (open_file_cache_valid), and
// so does nave with --file-cache-valid 60s. A nave build older than that
// flag runs with its defaults.
func naveServe(e *Env, addr, root string) (proc.Spec, error) {
	if help, err := naveHelp(e, "serve"); err == nil && strings.Contains(help, "--file-cache-valid") {
		return naveServeSpec(e, "nave", addr, root, "--file-cache-valid", "60s"), nil
	}
	return naveServeSpec(e, "nave", addr, root), nil
}

// naveServeStrict is nave with its defaults: every request stats the file
// it serves from the cache, so that a change is seen at once.
func naveServeStrict(e *Env, addr, root string) (proc.Spec, error) {
	return naveServeSpec(e, StrictName, addr, root), nil
}

// checkNaveMetrics: the build has --metrics.
func checkNaveMetrics(e *Env) error {
	help, err := naveHelp(e, "serve")
	if err != nil {
		return err
	}
	if !strings.Contains(help, "--metrics") {
		return fmt.Errorf("nave serve --metrics: %w", ErrNotBuilt)
	}
	return nil
}

// naveServeMetrics is naveServe with metrics on, served on a port of
// their own that nobody scrapes during the run: the cost measured is the
// counting, not the exposition.
func naveServeMetrics(e *Env, addr, root string) (proc.Spec, error) {
	return naveServeSpec(e, MetricsName, addr, root, "--file-cache-valid", "60s", "--metrics", "127.0.0.1:0"), nil
}

// naveServeSpec is `nave serve` on addr for root, with flags added.
func naveServeSpec(e *Env, name, addr, root string, flags ...string) proc.Spec {
	args := append([]string{"serve", "--listen", addr, "--access-log", "off"}, flags...)
	s := spec(e, name, e.Nave, append(args, root)...)
	s.Env = []string{goMaxProcs}
	return s
}

func checkFasthttp(e *Env) error {
	if _, err := os.Stat(e.Fasthttp); err != nil {
		return fmt.Errorf("fasthttp file server (bench/fasthttp): %w", ErrNotBuilt)
	}
	return nil
}

func fasthttpFS(e *Env, addr, root string) (proc.Spec, error) {
	s := spec(e, "fasthttp", e.Fasthttp, "-listen", addr, "-root", root)
	s.Env = []string{goMaxProcs}
	return s, nil
}

// nginxConf is nginx at its best for static files on one core. It keeps
// every path under dir, so it runs as root without touching /etc/nginx or
// /var/lib/nginx. Its listener is "deferred" (TCP_DEFER_ACCEPT), as nave's
// are.
var nginxConf = template.Must(template.New("nginx").Parse(`daemon off;
master_process on;
worker_processes {{.Workers}};
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;

events {
    worker_connections {{.Conns}};
    use epoll;
}

http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    # nginx's default of 1000 closes each connection every 1000 requests;
    # the other servers never do.
    keepalive_requests 100000;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_errors on;
    server_tokens off;

    client_body_temp_path {{.Dir}}/body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;

    types {
        text/html html;
        text/plain txt;
        text/css css;
        application/octet-stream bin;
    }
    default_type application/octet-stream;

{{- with .Upstream}}

    upstream up {
        server {{.}};
        keepalive 64;
        keepalive_requests 100000;
    }
{{- end}}

    server {
        listen {{.Addr}}{{if .TLS}} ssl{{end}}{{if .HTTP2}} http2{{end}} backlog=4096 deferred;
{{- if .Upstream}}
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }
{{- else}}
        root {{.Root}};
        index index.html;
{{- end}}
{{- with .TLS}}
        ssl_certificate {{.Cert}};
        ssl_certificate_key {{.Key}};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;
        ssl_session_tickets on;
        ssl_prefer_server_ciphers on;
{{- end}}
    }
}
`))

// nginxData fills nginxConf; a nil TLS listens in the clear. HTTP2 makes
// the listener speak HTTP/2: by ALPN over TLS, or only HTTP/2 (with prior
// knowledge) in the clear.
type nginxData struct {
	Dir, Addr, Root string
	Upstream        string // proxy to this host:port (keep-alive 64) instead of serving Root
	Conns           int
	Workers         int // worker_processes
	TLS             *certPair
	HTTP2           bool
}

// certPair is a PEM certificate file and its key file.
type certPair struct{ Cert, Key string }

func nginx(e *Env, addr, root string) (proc.Spec, error) {
	return nginxSpec(e, addr, root, nil, false)
}

// nginxSpec writes nginx.conf, over TLS with tls unless it is nil, and
// speaking HTTP/2 if http2.
func nginxSpec(e *Env, addr, root string, tls *certPair, http2 bool) (proc.Spec, error) {
	return nginxSpecData(e, nginxData{Addr: addr, Root: root, TLS: tls, HTTP2: http2})
}

// nginxSpecData writes nginx.conf for d (its Dir and Conns filled in here).
func nginxSpecData(e *Env, d nginxData) (proc.Spec, error) {
	dir, err := scratch(e, "nginx")
	if err != nil {
		return proc.Spec{}, err
	}
	conns := e.NginxConnections
	if conns <= 0 {
		conns = 1024
	}
	var b strings.Builder
	d.Dir, d.Conns, d.Workers = dir, conns, max(e.Workers, 1)
	if err := nginxConf.Execute(&b, d); err != nil {
		return proc.Spec{}, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return proc.Spec{}, err
	}
	// -e: the startup error log, before the config is read (Debian's
	// default is /var/log/nginx/error.log).
	return spec(e, "nginx", "nginx", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf), nil
}

// caddyfile serves root with no admin endpoint, no automatic HTTPS and no
// access log (Caddy logs requests only when a site says "log").
var caddyfile = template.Must(template.New("caddy").Parse(`{
	admin off
	auto_https off
}

http://{{.Addr}} {
	root * {{.Root}}
	file_server
}
`))

func caddy(e *Env, addr, root string) (proc.Spec, error) {
	dir, err := scratch(e, "caddy")
	if err != nil {
		return proc.Spec{}, err
	}
	var b strings.Builder
	if err := caddyfile.Execute(&b, struct{ Addr, Root string }{addr, root}); err != nil {
		return proc.Spec{}, err
	}
	conf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return proc.Spec{}, err
	}
	s := spec(e, "caddy", "caddy", "run", "--config", conf, "--adapter", "caddyfile")
	// Caddy keeps state under $HOME and the XDG directories: keep it in dir.
	s.Env = []string{goMaxProcs, "HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	return s, nil
}

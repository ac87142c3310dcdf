package servers

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"nave/bench/internal/proc"
)

// The HTTPS servers present Env.TLSCert and Env.TLSKey, and otherwise run
// as their plain selves: the same document root, one worker, no access log.

func checkNaveTLS(e *Env) error {
	help, err := naveHelp(e, "serve")
	if err != nil {
		return err
	}
	if !strings.Contains(help, "--tls-cert") {
		return fmt.Errorf("nave serve --tls-cert: %w", ErrNotBuilt)
	}
	return nil
}

// naveTLS is a nave spec with the certificate added before the document
// root, which stays the last argument.
func naveTLS(plain func(*Env, string, string) (proc.Spec, error)) func(*Env, string, string) (proc.Spec, error) {
	return func(e *Env, addr, root string) (proc.Spec, error) {
		s, err := plain(e, addr, root)
		if err != nil {
			return s, err
		}
		n := len(s.Args) - 1
		s.Args = slices.Insert(slices.Clip(s.Args), n, "--tls-cert", e.TLSCert, "--tls-key", e.TLSKey)
		return s, nil
	}
}

// nginxTLS is the plain nginx configuration with the listener speaking TLS.
// nginx does not use sendfile on a TLS connection (only with kernel TLS,
// which Debian's nginx does not turn on): it reads the file and encrypts it
// in user space, as the other two do.
func nginxTLS(e *Env, addr, root string) (proc.Spec, error) {
	return nginxSpec(e, addr, root, &certPair{Cert: e.TLSCert, Key: e.TLSKey}, false)
}

// nginxH2 is nginxTLS with HTTP/2 offered by ALPN. nginx 1.22 (Debian 12)
// turns it on per listener, "listen ... ssl http2"; the "http2 on"
// directive came with 1.25.1. keepalive_requests and keepalive_timeout
// bound HTTP/2 connections too since 1.19.7.
func nginxH2(e *Env, addr, root string) (proc.Spec, error) {
	return nginxSpec(e, addr, root, &certPair{Cert: e.TLSCert, Key: e.TLSKey}, true)
}

// nginxH2C is the plain nginx with "listen ... http2": in the clear that
// listener speaks HTTP/2 with prior knowledge only, not HTTP/1.1.
func nginxH2C(e *Env, addr, root string) (proc.Spec, error) {
	return nginxSpec(e, addr, root, nil, true)
}

// h2oConf is h2o 2.2 on one thread. No access-log directive means no
// access log. ocsp-update-interval 0: the certificate is self-signed, there
// is no OCSP responder to fetch from. h2o 2.2 always signs handshakes in a
// separate process of its own (neverbleed, which keeps the key out of the
// serving process; later versions can turn it off): it is h2o's child,
// pinned to the same CPU and counted in h2o's figures. Started as root, h2o
// switches to nobody after reading its configuration and key; the document
// root is world-readable. Over TLS h2o offers HTTP/2 by ALPN; in the clear
// it takes HTTP/1.1, and HTTP/2 from a client that starts with the
// connection preface (prior knowledge).
var h2oConf = template.Must(template.New("h2o").Parse(`num-threads: 1
max-connections: {{.Conns}}
error-log: {{.Dir}}/error.log
listen:
  host: {{.Host}}
  port: {{.Port}}
{{- with .TLS}}
  ssl:
    certificate-file: {{.Cert}}
    key-file: {{.Key}}
    minimum-version: TLSv1.2
    cipher-preference: server
    ocsp-update-interval: 0
{{- end}}
hosts:
  default:
    paths:
      /:
        file.dir: {{.Root}}
`))

// h2oData fills h2oConf; a nil TLS listens in the clear.
type h2oData struct {
	Dir, Host, Port, Root string
	Conns                 int
	TLS                   *certPair
}

func h2o(e *Env, addr, root string) (proc.Spec, error) {
	return h2oSpec(e, addr, root, &certPair{Cert: e.TLSCert, Key: e.TLSKey})
}

// h2oClear is h2o in the clear, for HTTP/2 with prior knowledge.
func h2oClear(e *Env, addr, root string) (proc.Spec, error) {
	return h2oSpec(e, addr, root, nil)
}

// h2oSpec writes h2o.conf, over TLS with tls unless it is nil.
func h2oSpec(e *Env, addr, root string, tls *certPair) (proc.Spec, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return proc.Spec{}, err
	}
	dir, err := scratch(e, "h2o")
	if err != nil {
		return proc.Spec{}, err
	}
	var b strings.Builder
	data := h2oData{Dir: dir, Host: host, Port: port, Root: root, TLS: tls,
		Conns: max(e.NginxConnections, 1024)}
	if err := h2oConf.Execute(&b, data); err != nil {
		return proc.Spec{}, err
	}
	conf := filepath.Join(dir, "h2o.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return proc.Spec{}, err
	}
	// -m worker: this process serves, in the foreground (no master, no daemon).
	return spec(e, "h2o", "h2o", "-m", "worker", "-c", conf), nil
}

// Package servers knows how to start each server the benchmarks compare, in
// an equivalent configuration: one worker process, access logs off,
// keep-alive on, sendfile on where the server has it, listening on a
// loopback port, pinned to one CPU. It writes the configuration files a
// server needs under a scratch directory and never touches /etc. Standard
// library only.
package servers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"

	"nave/bench/internal/proc"
)

// Kind is what a server serves.
type Kind int

const (
	Static    Kind = iota // a document root
	WSGI                  // a Python WSGI app
	StaticTLS             // a document root over HTTPS, with Env's certificate
	H2                    // a document root over HTTP/2 over TLS (ALPN "h2"), with Env's certificate
	H2C                   // a document root over HTTP/2 in the clear, with prior knowledge (RFC 9113 §3.3)
	Proxy                 // a reverse proxy to an upstream (the target: its host:port)
	ASGI                  // a Python ASGI app
	// Static2 is Static with the server on both CPUs (Env.TwoCPUs), and the
	// load generator sharing them alike.
	Static2
)

// App reports whether servers of kind k run a Python app (WSGI or ASGI)
// rather than serve a document root.
func (k Kind) App() bool { return k == WSGI || k == ASGI }

// TLS reports whether servers of kind k listen with Env's certificate.
func (k Kind) TLS() bool { return k == StaticTLS || k == H2 }

// Env is what the servers need to know about this machine and run.
type Env struct {
	Tmp string // scratch directory: configs, logs, pid files
	CPU int    // the CPU servers are pinned to; negative: none
	// TwoCPUs is the CPU list of the two-CPU runs (Static2): servers run
	// on these with two workers (GOMAXPROCS=2, nginx's worker_processes 2).
	TwoCPUs string
	Nave    string // the nave binary
	// NaveBase is another nave binary, measured as "nave-base" (the build
	// before a change); "" leaves it out.
	NaveBase string
	Fasthttp string // the fasthttp file-server binary (bench/fasthttp)
	Python   string // the Python the WSGI and ASGI servers use, with Flask and FastAPI importable
	AppDir   string // the directory the WSGI and ASGI apps are imported from

	// NginxConnections is nginx's worker_connections. nginx allocates and
	// touches its whole connection table at start, so it should fit the run:
	// a large table costs resident memory a benchmark would charge to nginx.
	NginxConnections int

	// Workers is nginx's worker_processes; 0 is 1. onTwoCPUs sets it.
	Workers int

	// TLSCert and TLSKey are the PEM certificate and key every StaticTLS
	// server presents: the same pair for all, so that none gets a cheaper
	// signature or a shorter chain.
	TLSCert, TLSKey string
}

// Server is one server the harness can start.
type Server struct {
	Name string
	Kind Kind
	// Check reports why the server cannot run here (not installed, not
	// built), or nil.
	Check func(e *Env) error
	// Spec writes the configuration the server needs and says how to start
	// it listening on addr (host:port) and serving target: a document root
	// for Static, MODULE:CALLABLE importable from e.AppDir for WSGI.
	Spec func(e *Env, addr, target string) (proc.Spec, error)
}

// ErrNotBuilt marks a server whose binary or subcommand does not exist yet.
var ErrNotBuilt = errors.New("not built")

// All lists every server, nave and nave-base first in each kind.
func All() []Server {
	return []Server{
		{Name: "nave", Kind: Static, Check: checkNave, Spec: naveServe},
		{Name: BaseName, Kind: Static, Check: baseCheck(checkNave), Spec: baseSpec(naveServe)},
		{Name: StrictName, Kind: Static, Check: checkNave, Spec: naveServeStrict},
		{Name: MetricsName, Kind: Static, Check: checkNaveMetrics, Spec: naveServeMetrics},
		{Name: "nginx", Kind: Static, Check: need("nginx"), Spec: nginx},
		{Name: "fasthttp", Kind: Static, Check: checkFasthttp, Spec: fasthttpFS},
		{Name: "caddy", Kind: Static, Check: need("caddy"), Spec: caddy},
		// Two CPUs: nave and fasthttp with GOMAXPROCS=2, nginx with two
		// workers; "nave-1cpu" is nave kept to one CPU under the same
		// load, which shows what the second CPU adds.
		{Name: "nave", Kind: Static2, Check: checkNave, Spec: onTwoCPUs(naveServe)},
		{Name: OneCPUName, Kind: Static2, Check: checkNave, Spec: naveServe},
		{Name: "nginx", Kind: Static2, Check: need("nginx"), Spec: onTwoCPUs(nginx)},
		{Name: "fasthttp", Kind: Static2, Check: checkFasthttp, Spec: onTwoCPUs(fasthttpFS)},
		{Name: "nave", Kind: StaticTLS, Check: checkNaveTLS, Spec: naveTLS(naveServe)},
		{Name: BaseName, Kind: StaticTLS, Check: baseCheck(checkNaveTLS), Spec: baseSpec(naveTLS(naveServe))},
		{Name: StrictName, Kind: StaticTLS, Check: checkNaveTLS, Spec: naveTLS(naveServeStrict)},
		{Name: "nginx", Kind: StaticTLS, Check: need("nginx"), Spec: nginxTLS},
		{Name: "h2o", Kind: StaticTLS, Check: need("h2o"), Spec: h2o},
		// HTTP/2: nave speaks h2 on every TLS listener and h2c on every
		// plain one by default; the checks before each run make sure the
		// build at hand does.
		{Name: "nave", Kind: H2, Check: checkNaveTLS, Spec: naveTLS(naveServe)},
		{Name: BaseName, Kind: H2, Check: baseCheck(checkNaveTLS), Spec: baseSpec(naveTLS(naveServe))},
		{Name: "nginx", Kind: H2, Check: need("nginx"), Spec: nginxH2},
		{Name: "h2o", Kind: H2, Check: need("h2o"), Spec: h2o},
		{Name: "nave", Kind: H2C, Check: checkNave, Spec: naveServe},
		{Name: MetricsName, Kind: H2C, Check: checkNaveMetrics, Spec: naveServeMetrics},
		{Name: BaseName, Kind: H2C, Check: baseCheck(checkNave), Spec: baseSpec(naveServe)},
		{Name: "nginx", Kind: H2C, Check: need("nginx"), Spec: nginxH2C},
		{Name: "h2o", Kind: H2C, Check: need("h2o"), Spec: h2oClear},
		{Name: "nave", Kind: WSGI, Check: checkNaveWSGI, Spec: naveWSGI},
		{Name: BaseName, Kind: WSGI, Check: baseCheck(checkNaveWSGI), Spec: baseSpec(naveWSGI)},
		{Name: "uwsgi", Kind: WSGI, Check: checkUWSGI, Spec: uwsgi},
		{Name: "gunicorn-sync", Kind: WSGI, Check: need("gunicorn"), Spec: gunicorn("sync")},
		{Name: "gunicorn-gthread", Kind: WSGI, Check: need("gunicorn"), Spec: gunicorn("gthread")},
		{Name: "nave", Kind: Proxy, Check: checkNave, Spec: naveProxy},
		{Name: BaseName, Kind: Proxy, Check: baseCheck(checkNave), Spec: baseSpec(naveProxy)},
		{Name: "nginx", Kind: Proxy, Check: need("nginx"), Spec: nginxProxy},
		{Name: "caddy", Kind: Proxy, Check: need("caddy"), Spec: caddyProxy},
		{Name: "haproxy", Kind: Proxy, Check: need("haproxy"), Spec: haproxyProxy},
		{Name: "nave", Kind: ASGI, Check: checkNaveASGI, Spec: naveASGI},
		{Name: BaseName, Kind: ASGI, Check: baseCheck(checkNaveASGI), Spec: baseSpec(naveASGI)},
		{Name: "uvicorn", Kind: ASGI, Check: pythonModule("uvicorn", "httptools", "uvloop"), Spec: uvicorn},
		{Name: "daphne", Kind: ASGI, Check: pythonModule("daphne"), Spec: daphne},
		{Name: "hypercorn", Kind: ASGI, Check: pythonModule("hypercorn"), Spec: hypercorn},
	}
}

// OneCPUName is nave pinned to one CPU in the two-CPU runs.
const OneCPUName = "nave-1cpu"

// onTwoCPUs runs spec's server on Env.TwoCPUs with two workers.
func onTwoCPUs(spec func(*Env, string, string) (proc.Spec, error)) func(*Env, string, string) (proc.Spec, error) {
	return func(e *Env, addr, target string) (proc.Spec, error) {
		two := *e
		two.Workers = 2
		s, err := spec(&two, addr, target)
		s.CPUs = e.TwoCPUs
		for i, kv := range s.Env {
			if kv == goMaxProcs {
				s.Env[i] = "GOMAXPROCS=2"
			}
		}
		return s, err
	}
}

// BaseName is the server name of Env.NaveBase.
const BaseName = "nave-base"

// StrictName is nave serving files with its default cache policy (a stat
// on every request), beside "nave", which is configured as nginx is.
const StrictName = "nave-strict"

// MetricsName is "nave" with its Prometheus metrics on (--metrics), to
// show what counting every request and connection costs (nave's aim: within
// 2% of "nave" on the 14 B file).
const MetricsName = "nave-metrics"

// baseCheck and baseSpec run a nave check or spec with Env.NaveBase as the
// binary.
func baseCheck(check func(*Env) error) func(*Env) error {
	return func(e *Env) error {
		if e.NaveBase == "" {
			return fmt.Errorf("no --baseline")
		}
		b := *e
		b.Nave = e.NaveBase
		return check(&b)
	}
}

func baseSpec(spec func(*Env, string, string) (proc.Spec, error)) func(*Env, string, string) (proc.Spec, error) {
	return func(e *Env, addr, target string) (proc.Spec, error) {
		b := *e
		b.Nave = e.NaveBase
		s, err := spec(&b, addr, target)
		s.Name, s.Log = BaseName, filepath.Join(e.Tmp, BaseName+".log")
		return s, err
	}
}

// Lookup returns the server of that name and kind.
func Lookup(name string, k Kind) (Server, bool) {
	for _, s := range All() {
		if s.Name == name && s.Kind == k {
			return s, true
		}
	}
	return Server{}, false
}

// FreePort returns a loopback address with a port nothing listens on now.
// Another process could take it before the server binds it; the readiness
// check then fails and says so.
func FreePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("servers: free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

func need(cmd string) func(*Env) error {
	return func(*Env) error {
		if _, err := exec.LookPath(cmd); err != nil {
			return fmt.Errorf("%s not installed (make bench-deps)", cmd)
		}
		return nil
	}
}

// spec fills in the fields every server shares.
func spec(e *Env, name, path string, args ...string) proc.Spec {
	return proc.Spec{
		Name: name,
		Path: path,
		Args: args,
		CPU:  e.CPU,
		Log:  filepath.Join(e.Tmp, name+".log"),
	}
}

// scratch makes a fresh directory for one server's files.
func scratch(e *Env, name string) (string, error) {
	return os.MkdirTemp(e.Tmp, name+"-")
}

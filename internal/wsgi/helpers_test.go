package wsgi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"nave/internal/certs"
	"nave/internal/route"
	"nave/internal/server"
	"nave/internal/wsgi"
)

// python is the interpreter the tests use: Debian's, with python3-flask,
// python3-django and python3-pyramid (scripts/deps.sh installs them).
const python = "/usr/bin/python3"

// clientTimeout bounds every client exchange, so that a server that fails
// to answer fails the test instead of hanging it.
const clientTimeout = 15 * time.Second

func needPython(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Python workers")
	}
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s is missing: run scripts/deps.sh", python)
	}
	// Workers inherit it: no __pycache__ folders in testdata.
	t.Setenv("PYTHONDONTWRITEBYTECODE", "1")
}

// logBuffer collects the log, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls the log until it contains s.
func (l *logBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(clientTimeout)
	for !strings.Contains(l.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("log has no %q:\n%s", s, l.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gateway is a pool and a server in front of it, on a loopback port.
type gateway struct {
	pool   *wsgi.Pool
	addr   string
	log    *logBuffer
	srv    *server.Server
	client *tls.Config // set when the gateway serves HTTPS
}

func appsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/apps")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// startGateway starts a pool for cfg (defaults: the test apps' folder,
// /usr/bin/python3, one worker) and serves it until the test ends.
func startGateway(t *testing.T, cfg wsgi.Config, hcfg wsgi.HandlerConfig) *gateway {
	t.Helper()
	return startMounted(t, cfg, hcfg, "")
}

// startMounted is startGateway with the app mounted at prefix.
func startMounted(t *testing.T, cfg wsgi.Config, hcfg wsgi.HandlerConfig, prefix string) *gateway {
	t.Helper()
	return startWith(t, cfg, hcfg, prefix, false)
}

// startGatewayTLS is startGateway over HTTPS, with a certificate for
// localhost from a local CA made for the test.
func startGatewayTLS(t *testing.T, cfg wsgi.Config, hcfg wsgi.HandlerConfig) *gateway {
	t.Helper()
	return startWith(t, cfg, hcfg, "", true)
}

func startWith(t *testing.T, cfg wsgi.Config, hcfg wsgi.HandlerConfig, prefix string, useTLS bool) *gateway {
	t.Helper()
	needPython(t)
	g := &gateway{log: new(logBuffer)}
	logger := slog.New(slog.NewTextHandler(g.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Python == "" {
		cfg.Python = python
	}
	if cfg.Dir == "" {
		cfg.Dir = appsDir(t)
	}
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	cfg.Logger = logger
	hcfg.Logger = logger
	g.pool = wsgi.New(cfg)
	if err := g.pool.Start(); err != nil {
		var se *wsgi.StartError
		if errors.As(err, &se) {
			t.Fatalf("Start: %v\n%s", err, se.Output)
		}
		t.Fatalf("Start: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	table, err := route.New([]route.Mount{{Prefix: prefix, Handler: wsgi.NewHandler(g.pool, hcfg)}})
	if err != nil {
		t.Fatal(err)
	}
	g.srv = server.New(server.Config{Handler: table, Logger: logger})
	served := make(chan error, 1)
	if useTLS {
		stc, ctc := testTLS(t)
		g.client = ctc
		go func() { served <- g.srv.ServeTLS(ln, stc) }()
	} else {
		go func() { served <- g.srv.Serve(ln) }()
	}
	t.Cleanup(func() {
		g.srv.Close()
		<-served
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.pool.Stop(ctx); err != nil {
			t.Errorf("pool Stop: %v", err)
		}
		if t.Failed() {
			t.Logf("log:\n%s", g.log.String())
		}
	})
	return g
}

// response is one response read off the wire.
type response struct {
	status  int
	head    string // status line and fields, raw, with the final CRLF CRLF
	header  map[string][]string
	body    []byte
	chunked bool
	closed  bool // the connection closed where the body should have gone on
}

func (r *response) get(name string) string {
	if v := r.header[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// conn is one raw client connection.
type conn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func (g *gateway) dial(t *testing.T) *conn {
	t.Helper()
	var nc net.Conn
	var err error
	if g.client != nil {
		nc, err = tls.Dial("tcp", g.addr, g.client)
	} else {
		nc, err = net.Dial("tcp", g.addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(clientTimeout))
	t.Cleanup(func() { nc.Close() })
	return &conn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *conn) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, raw); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// read reads one response; a HEAD response has no body.
func (c *conn) read(method string) *response {
	c.t.Helper()
	r, err := readResponse(c.br, method)
	if err != nil {
		c.t.Fatalf("reading response: %v (so far %+v)", err, r)
	}
	return r
}

// roundTrip sends raw on a new connection and reads one response.
func (g *gateway) roundTrip(t *testing.T, raw string) *response {
	t.Helper()
	c := g.dial(t)
	c.send(raw)
	method, _, _ := strings.Cut(raw, " ")
	return c.read(method)
}

// get fetches path with a plain GET.
func (g *gateway) get(t *testing.T, path string) *response {
	t.Helper()
	return g.roundTrip(t, "GET "+path+" HTTP/1.1\r\nHost: test\r\n\r\n")
}

func readResponse(br *bufio.Reader, method string) (*response, error) {
	r := &response{header: map[string][]string{}}
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			r.head = head.String()
			return r, err
		}
		if line == "\r\n" {
			break
		}
		if r.status == 0 {
			f := strings.Fields(line)
			if len(f) < 2 {
				return r, fmt.Errorf("bad status line %q", line)
			}
			r.status, _ = strconv.Atoi(f[1])
			continue
		}
		name, value, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		name = strings.ToLower(name)
		r.header[name] = append(r.header[name], strings.TrimSpace(value))
	}
	r.head = head.String()
	if method == "HEAD" || r.status == 204 || r.status == 304 {
		return r, nil
	}
	switch {
	case r.get("Transfer-Encoding") == "chunked":
		r.chunked = true
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				r.closed = true
				return r, nil
			}
			n, err := strconv.ParseInt(strings.TrimRight(line, "\r\n"), 16, 64)
			if err != nil {
				return r, fmt.Errorf("bad chunk line %q", line)
			}
			if n == 0 {
				if _, err := br.ReadString('\n'); err != nil {
					return r, err
				}
				return r, nil
			}
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(br, buf); err != nil {
				r.body = append(r.body, buf...)
				r.closed = true
				return r, nil
			}
			r.body = append(r.body, buf[:n]...)
		}
	case r.get("Content-Length") != "":
		n, _ := strconv.Atoi(r.get("Content-Length"))
		r.body = make([]byte, n)
		m, err := io.ReadFull(br, r.body)
		if err != nil {
			r.body = r.body[:m]
			r.closed = true
		}
	default:
		b, _ := io.ReadAll(br)
		r.body = b
	}
	return r, nil
}

// testTLS returns a server configuration with a certificate for localhost
// from a fresh local CA, and a client configuration that trusts that CA.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	ca, _, err := certs.OpenLocalCA(filepath.Join(t.TempDir(), "ca"))
	if err != nil {
		t.Fatal(err)
	}
	store := certs.NewStore(nil)
	leaf, err := ca.Issue(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(certs.LocalKey, leaf); err != nil {
		t.Fatal(err)
	}
	if server, err = certs.ServerConfig(store, certs.Options{NextProtos: []string{"http/1.1"}}); err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(ca.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	return server, &tls.Config{RootCAs: roots, ServerName: "localhost"}
}

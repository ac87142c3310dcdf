package acme_test

// A real ACME CA for the tests: Let's Encrypt's Pebble, with
// pebble-challtestsrv as its DNS server answering every A query with
// 127.0.0.1, so Pebble's validator connects to the challenge servers the
// tests run on loopback. Validation really happens: PEBBLE_VA_ALWAYS_VALID
// is never set.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"nave/internal/acme"
)

// shortProfile is the Pebble profile with short-lived certificates.
const (
	shortProfile  = "shortlived"
	shortValidity = 10 * time.Minute
)

// startWait bounds how long a test waits for Pebble to listen.
const startWait = 20 * time.Second

var (
	toolsOnce sync.Once
	toolsErr  error
	toolsBin  string
)

// tools installs Pebble through scripts/acme-tools.sh, once per test
// binary, and returns the folder holding the binaries. A failed install
// fails the test: skipping would hide that the CA tests never ran.
func tools(t *testing.T) string {
	t.Helper()
	toolsOnce.Do(func() {
		out, err := exec.Command("bash", "../../scripts/acme-tools.sh").CombinedOutput()
		if err != nil {
			toolsErr = fmt.Errorf("scripts/acme-tools.sh: %v\n%s", err, out)
			return
		}
		gopath, err := exec.Command("go", "env", "GOPATH").Output()
		if err != nil {
			toolsErr = fmt.Errorf("go env GOPATH: %v", err)
			return
		}
		toolsBin = filepath.Join(strings.TrimSpace(string(gopath)), "bin")
	})
	if toolsErr != nil {
		t.Fatalf("installing Pebble: %v", toolsErr)
	}
	return toolsBin
}

// pebble is one running Pebble CA with its DNS server.
type pebble struct {
	dirURL   string         // the ACME directory
	roots    *x509.CertPool // trust for Pebble's HTTPS API
	mgmt     string         // the management API's address
	httpPort int            // where the validator makes HTTP-01 requests
	tlsPort  int            // where the validator makes TLS-ALPN-01 handshakes
	stops    []func()       // kill the processes
}

// stop kills Pebble and its DNS server before the test ends.
func (p *pebble) stop() {
	for _, f := range p.stops {
		f()
	}
}

// pebbleOpts fixes what a test needs fixed; zero fields get free ports
// and a new API certificate.
type pebbleOpts struct {
	listen   string
	httpPort int
	tlsPort  int
	api      *apiTLS
}

// startPebble runs Pebble and pebble-challtestsrv until the test ends.
func startPebble(t *testing.T, o pebbleOpts) *pebble {
	t.Helper()
	bin := tools(t)
	dir := t.TempDir()
	if o.listen == "" {
		o.listen = freeAddr(t)
	}
	if o.httpPort == 0 {
		o.httpPort = freePort(t)
	}
	if o.tlsPort == 0 {
		o.tlsPort = freePort(t)
	}
	if o.api == nil {
		o.api = newAPITLS(t)
	}
	p := &pebble{
		dirURL:   "https://" + o.listen + "/dir",
		roots:    o.api.roots,
		mgmt:     freeAddr(t),
		httpPort: o.httpPort,
		tlsPort:  o.tlsPort,
	}
	dns := freeAddr(t)
	p.stops = append(p.stops, spawn(t, dir, filepath.Join(bin, "pebble-challtestsrv"),
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dnsserver", dns, "-management", freeAddr(t),
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", ""))

	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  o.listen,
		"managementListenAddress":        p.mgmt,
		"certificate":                    o.api.certFile,
		"privateKey":                     o.api.keyFile,
		"httpPort":                       o.httpPort,
		"tlsPort":                        o.tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		// No Retry-After: the client polls each second.
		"retryAfter":   map[string]int{"authz": 0, "order": 0},
		"keyAlgorithm": "ecdsa",
		"profiles": map[string]any{
			"default":    map[string]any{"description": "default", "validityPeriod": 90 * 24 * 3600},
			shortProfile: map[string]any{"description": "short", "validityPeriod": int(shortValidity.Seconds())},
		},
	}}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	waitListening(t, dns)
	p.stops = append(p.stops, spawn(t, dir, filepath.Join(bin, "pebble"), "-config", cfgFile, "-dnsserver", dns))
	waitListening(t, o.listen)
	waitListening(t, p.mgmt)
	return p
}

// spawn starts a child with the test environment, its output in a file the
// test prints when it fails, and kills it when the test ends or when the
// returned func is called.
func spawn(t *testing.T, dir, bin string, args ...string) func() {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PEBBLE_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"PEBBLE_VA_NOSLEEP=1",      // validate at once
		"PEBBLE_WFE_NONCEREJECT=0", // no random badNonce errors
		"PEBBLE_AUTHZREUSE=0",      // every order validates anew
	)
	logFile, err := os.Create(filepath.Join(dir, filepath.Base(bin)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	stop := sync.OnceFunc(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
	})
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			out, _ := os.ReadFile(logFile.Name())
			t.Logf("%s output:\n%s", filepath.Base(bin), out)
		}
	})
	return stop
}

// waitListening waits until addr accepts TCP connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(startWait)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func freeAddr(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", freePort(t))
}

// apiTLS is the TLS setup of Pebble's own HTTPS API.
type apiTLS struct {
	roots             *x509.CertPool // the CA that signed the certificate
	certFile, keyFile string         // PEM
}

// newAPITLS makes a CA and a certificate for 127.0.0.1 signed by it.
func newAPITLS(t *testing.T) *apiTLS {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "nave test ACME API CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "api.pem"), filepath.Join(dir, "api.key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &apiTLS{roots: pool, certFile: certFile, keyFile: keyFile}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// issuingRoots fetches the root Pebble signs certificates under; it is
// made anew at each start and differs from the API's CA.
func (p *pebble) issuingRoots(t *testing.T) *x509.CertPool {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.roots}}}
	resp, err := client.Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /roots/0: status %d, %v", resp.StatusCode, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(body) {
		t.Fatalf("GET /roots/0: no certificate in %q", body)
	}
	return pool
}

// serveHTTP01 answers the validator's HTTP-01 requests on the test's port
// with handler until the test ends or the returned func is called.
func serveHTTP01(t *testing.T, port int, handler http.Handler) func() {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop := func() { srv.Close() }
	t.Cleanup(stop)
	return stop
}

// challengeHandler is how a server wires Manager.HTTPChallenge.
func challengeHandler(m *acme.Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := m.HTTPChallenge(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	})
}

// serveTLSALPN01 answers the validator's TLS-ALPN-01 handshakes on the
// test's port, as a listener wires Manager.TLSALPNCertificate.
func serveTLSALPN01(t *testing.T, port int, m *acme.Manager) {
	t.Helper()
	cfg := &tls.Config{
		NextProtos: []string{"h2", "http/1.1", acme.ALPNProto},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if cert, ok := m.TLSALPNCertificate(hello); ok {
				return cert, nil
			}
			return nil, errors.New("no certificate")
		},
	}
	ln, err := tls.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.(*tls.Conn).Handshake()
			}()
		}
	}()
}

// logs records a Manager's log for the test to wait on.
type logs struct {
	mu      sync.Mutex
	records []slog.Record // guarded by mu
	changed chan struct{} // closed and replaced on each record; guarded by mu
}

func newLogs() *logs { return &logs{changed: make(chan struct{})} }

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }

func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	close(l.changed)
	l.changed = make(chan struct{})
	return nil
}

// wait returns the n-th record (from 1) with message msg, waiting for it
// until ctx ends.
func (l *logs) wait(ctx context.Context, t *testing.T, msg string, n int) slog.Record {
	t.Helper()
	seen := 0
	return l.waitFor(ctx, t, fmt.Sprintf("record %d of %q", n, msg), func(r slog.Record) bool {
		if r.Message == msg {
			seen++
		}
		return seen == n
	})
}

// waitFor returns the first record match accepts, waiting for it until ctx
// ends. match sees each record once, in order.
func (l *logs) waitFor(ctx context.Context, t *testing.T, what string, match func(slog.Record) bool) slog.Record {
	t.Helper()
	next := 0
	for {
		l.mu.Lock()
		for ; next < len(l.records); next++ {
			if r := l.records[next]; match(r) {
				l.mu.Unlock()
				return r
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("no %s: %v\n%s", what, ctx.Err(), l)
		}
	}
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b bytes.Buffer
	h := slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})
	for _, r := range l.records {
		h.Handle(context.Background(), r)
	}
	return b.String()
}

// attr returns the value of a record's attribute key.
func attr(r slog.Record, key string) slog.Value {
	var v slog.Value
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value
			return false
		}
		return true
	})
	return v
}

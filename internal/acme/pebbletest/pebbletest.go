// Package pebbletest runs a real ACME CA for tests: Let's Encrypt's Pebble,
// with pebble-challtestsrv as its DNS server answering every A query with
// 127.0.0.1, so Pebble's validator connects to the challenge servers a test
// runs on loopback. Validation really happens: PEBBLE_VA_ALWAYS_VALID is
// never set.
//
// It is test support: only tests import it, never the product. Start
// installs the pinned Pebble through scripts/acme-tools.sh, found in the
// folder holding go.mod above the working directory, so it works from any
// package's tests. It imports the standard library only, and no nave
// package.
package pebbletest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// ShortProfile is the profile of short-lived certificates every CA offers
// beside "default"; its certificates are valid for ShortValidity.
const (
	ShortProfile  = "shortlived"
	ShortValidity = 10 * time.Minute
)

// defaultValidity is the lifetime of the "default" profile's certificates.
const defaultValidity = 90 * 24 * time.Hour

// Options fixes what a test needs fixed; zero fields get free ports and a
// new API certificate.
type Options struct {
	Listen   string   // the ACME API's address; "" = a free loopback port
	HTTPPort int      // where the validator makes HTTP-01 requests (to 127.0.0.1)
	TLSPort  int      // where it makes TLS-ALPN-01 handshakes (to 127.0.0.1)
	API      *APICert // the API's certificate; reuse it to restart a CA at the same address
}

// CA is one running Pebble with its DNS server. Its fields are set by Start
// and read-only after.
type CA struct {
	DirURL    string         // the ACME directory URL
	Roots     *x509.CertPool // trust for the CA's HTTPS API
	RootsFile string         // Roots as a PEM file
	HTTPPort  int            // where the validator makes HTTP-01 requests (to 127.0.0.1)
	TLSPort   int            // where it makes TLS-ALPN-01 handshakes (to 127.0.0.1)

	mgmt  string     // the management API's address
	log   string     // Pebble's output file
	procs []*process // Pebble and its DNS server
}

// Start installs Pebble once per test binary, runs it and its DNS server,
// and returns once both listen. They are killed when the test ends, and
// their output is logged if the test failed. A failed install fails the
// test: skipping would hide that the CA tests never ran.
func Start(t testing.TB, o Options) *CA {
	t.Helper()
	bin := tools(t)
	o = o.resolve(t)
	dir := t.TempDir()
	c := &CA{
		DirURL:    "https://" + o.Listen + "/dir",
		Roots:     o.API.Roots,
		RootsFile: o.API.RootsFile,
		HTTPPort:  o.HTTPPort,
		TLSPort:   o.TLSPort,
		mgmt:      FreeAddr(t),
	}
	dns := FreeAddr(t)
	chall := spawn(t, dir, filepath.Join(bin, "pebble-challtestsrv"),
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dnsserver", dns, "-management", FreeAddr(t),
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")
	c.procs = append(c.procs, chall)
	chall.waitListening(t, dns)

	cfgFile := writeConfig(t, dir, o, c.mgmt)
	pebble := spawn(t, dir, filepath.Join(bin, "pebble"), "-config", cfgFile, "-dnsserver", dns)
	c.log = filepath.Join(dir, "pebble.log")
	c.procs = append(c.procs, pebble)
	pebble.waitListening(t, o.Listen)
	pebble.waitListening(t, c.mgmt)
	return c
}

// resolve returns o with its zero fields filled.
func (o Options) resolve(t testing.TB) Options {
	if o.Listen == "" {
		o.Listen = FreeAddr(t)
	}
	if o.HTTPPort == 0 {
		o.HTTPPort = FreePort(t)
	}
	if o.TLSPort == 0 {
		o.TLSPort = FreePort(t)
	}
	if o.API == nil {
		o.API = NewAPICert(t)
	}
	return o
}

// writeConfig writes Pebble's configuration into dir and returns its path.
func writeConfig(t testing.TB, dir string, o Options, mgmt string) string {
	t.Helper()
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  o.Listen,
		"managementListenAddress":        mgmt,
		"certificate":                    o.API.CertFile,
		"privateKey":                     o.API.KeyFile,
		"httpPort":                       o.HTTPPort,
		"tlsPort":                        o.TLSPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		// No Retry-After: clients poll at their own pace.
		"retryAfter":   map[string]int{"authz": 0, "order": 0},
		"keyAlgorithm": "ecdsa",
		"profiles": map[string]any{
			"default":    map[string]any{"description": "default", "validityPeriod": int(defaultValidity.Seconds())},
			ShortProfile: map[string]any{"description": "short", "validityPeriod": int(ShortValidity.Seconds())},
		},
	}}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("pebbletest: config: %v", err)
	}
	path := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("pebbletest: config: %v", err)
	}
	return path
}

// Stop kills the CA before the test ends; calling it again does nothing.
func (c *CA) Stop() {
	for _, p := range c.procs {
		p.stop()
	}
}

// Orders returns how many orders the CA has received so far, as its log
// counts them ("Added order ... to the db", one line per new-order
// request it accepted).
func (c *CA) Orders(t testing.TB) int {
	t.Helper()
	out, err := os.ReadFile(c.log)
	if err != nil {
		t.Fatalf("pebbletest: orders: %v", err)
	}
	return bytes.Count(out, []byte("Added order "))
}

// issuerRootsTimeout bounds the request for the issuing root.
const issuerRootsTimeout = 10 * time.Second

// IssuerRoots fetches the root the CA signs certificates under from its
// management API, to verify issued certificates. Pebble makes it anew at
// each start; it differs from Roots.
func (c *CA) IssuerRoots(t testing.TB) *x509.CertPool {
	t.Helper()
	client := &http.Client{
		Timeout:   issuerRootsTimeout,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.Roots}},
	}
	defer client.CloseIdleConnections()
	url := "https://" + c.mgmt + "/roots/0"
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("pebbletest: issuer roots: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("pebbletest: issuer roots: GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pebbletest: issuer roots: GET %s: got status %d, want 200", url, resp.StatusCode)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(body) {
		t.Fatalf("pebbletest: issuer roots: GET %s: no PEM certificate in the %d-byte body", url, len(body))
	}
	return pool
}

// given holds the ports FreePort handed out in this process: the kernel
// may offer a port again once its listener closed, and two servers of one
// test (Pebble's management API and the challenge server's, say) must
// not be given the same.
var given struct {
	sync.Mutex
	ports map[int]bool
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that no earlier call in this process returned.
func FreePort(t testing.TB) int {
	t.Helper()
	given.Lock()
	defer given.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("pebbletest: free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !given.ports[port] {
			if given.ports == nil {
				given.ports = map[int]bool{}
			}
			given.ports[port] = true
			return port
		}
	}
	t.Fatal("pebbletest: free port: the kernel keeps offering ports already given")
	return 0
}

// FreeAddr returns "127.0.0.1:port" for a FreePort.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}

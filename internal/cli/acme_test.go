package cli

import (
	"crypto/tls"
	"crypto/x509"
	"strconv"
	"testing"
	"time"

	"nave/internal/acme/pebbletest"
)

// TestBinaryACME: nave gets a certificate for --domain names from a real
// ACME CA (Pebble, whose DNS answers 127.0.0.1 for every name), answering
// the CA's real validation connections itself: TLS-ALPN-01 on the HTTPS
// listener, HTTP-01 on the --redirect-http one.
func TestBinaryACME(t *testing.T) {
	for _, challenge := range []string{"tls-alpn-01", "http-01"} {
		t.Run(challenge, func(t *testing.T) {
			ca := pebbletest.Start(t, pebbletest.Options{HTTPPort: pebbletest.FreePort(t), TLSPort: pebbletest.FreePort(t)})
			name := "www." + challenge + ".test"
			addr, _, _ := startTLSBinary(t, t.TempDir(), "serve", "--access-log", "off",
				"--domain", name, "--acme-ca", ca.DirURL, "--acme-ca-root", ca.RootsFile,
				"--acme-email", "ops@example.test", "--acme-challenges", challenge,
				"--listen", "127.0.0.1:"+strconv.Itoa(ca.TLSPort),
				"--redirect-http", "127.0.0.1:"+strconv.Itoa(ca.HTTPPort))
			// Verified against Pebble's issuing root, for the name.
			waitForCert(t, addr, name, ca.IssuerRoots(t))
		})
	}
}

// waitForCert dials addr for name until it serves a certificate verified
// by roots, for up to 60 seconds, and returns its leaf.
func waitForCert(t *testing.T, addr, name string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, RootCAs: roots})
		if err == nil {
			leaf := conn.ConnectionState().PeerCertificates[0]
			conn.Close()
			return leaf
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s served no certificate from the CA within 60s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

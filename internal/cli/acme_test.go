package cli

import (
	"crypto/tls"
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
			roots := ca.IssuerRoots(t)
			deadline := time.Now().Add(60 * time.Second)
			for {
				conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, RootCAs: roots})
				if err == nil {
					leaf := conn.ConnectionState().PeerCertificates[0]
					conn.Close()
					if err := leaf.VerifyHostname(name); err != nil {
						t.Fatal(err)
					}
					return // verified against Pebble's issuing root, for the name
				}
				if time.Now().After(deadline) {
					t.Fatalf("no certificate from the CA within 60s: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// Package tlsfiles makes what the benchmarks' HTTPS and HTTP/2 servers and
// clients share: one ECDSA P-256 key and self-signed certificate per run,
// a client configuration that trusts it alone, and wrk's OpenSSL
// configuration. Standard library only.
package tlsfiles

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// certLifetime covers the longest run with a margin; nave refuses an
// expired certificate at start.
const certLifetime = 7 * 24 * time.Hour

// Files is what the run's HTTPS servers and clients share.
type Files struct {
	Cert, Key string      // PEM files every server presents
	Client    *tls.Config // trusts that certificate alone, for the checks
	// WrkConf is an OpenSSL configuration for wrk: TLS 1.3 offered with
	// TLS_AES_128_GCM_SHA256 only, so that every server encrypts alike.
	WrkConf string
}

// wrkOpenSSLConf narrows what wrk's OpenSSL offers. Left alone, OpenSSL
// lists TLS_AES_256_GCM_SHA384 first, and nginx and h2o (which prefer the
// same order) take it, while Go's server picks TLS_AES_128_GCM_SHA256 on
// a CPU with AES instructions: the 1 MiB workload would compare ciphers.
const wrkOpenSSLConf = `openssl_conf = openssl_init

[openssl_init]
ssl_conf = ssl_module

[ssl_module]
system_default = tls_defaults

[tls_defaults]
Ciphersuites = TLS_AES_128_GCM_SHA256
`

// Make writes into dir an ECDSA P-256 key and a self-signed
// certificate for localhost, 127.0.0.1 and ::1, and wrk's OpenSSL
// configuration.
func Make(dir string, now time.Time) (Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Files{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return Files{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"nave bench"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return Files{}, fmt.Errorf("certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Files{}, err
	}
	f := Files{
		Cert:    filepath.Join(dir, "cert.pem"),
		Key:     filepath.Join(dir, "key.pem"),
		WrkConf: filepath.Join(dir, "wrk-openssl.cnf"),
	}
	// The key is read by each server as root before it drops privileges.
	writes := []struct {
		path string
		data []byte
		perm os.FileMode
	}{
		{f.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644},
		{f.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600},
		{f.WrkConf, []byte(wrkOpenSSLConf), 0o644},
	}
	for _, w := range writes {
		if err := os.WriteFile(w.path, w.data, w.perm); err != nil {
			return Files{}, err
		}
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return Files{}, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	f.Client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return f, nil
}

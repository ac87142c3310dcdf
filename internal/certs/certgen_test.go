package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Test certificates, made fresh by each test with crypto/x509.

// rsaKey is generated once per test binary: RSA generation is slow and the
// tests that need RSA only need a key, not a distinct one.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testCA is a root or intermediate that signs test certificates.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newTestRoot(t *testing.T) *testCA {
	t.Helper()
	key := newECKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(t),
		Subject:               pkix.Name{CommonName: "test root"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	return &testCA{cert: sign(t, tmpl, tmpl, key.Public(), key), key: key}
}

func (ca *testCA) intermediate(t *testing.T) *testCA {
	t.Helper()
	key := newECKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(t),
		Subject:               pkix.Name{CommonName: "test intermediate"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	return &testCA{cert: sign(t, tmpl, ca.cert, key.Public(), ca.key), key: key}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// leafSpec describes a leaf: its names (DNS or IP), its key (ECDSA unless
// rsa), an optional CN, and an optional NotAfter (default: a day ahead).
type leafSpec struct {
	names    []string
	cn       string
	rsa      bool
	notAfter time.Time
}

type testLeaf struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func (ca *testCA) leaf(t *testing.T, spec leafSpec) testLeaf {
	t.Helper()
	var key crypto.Signer = newECKey(t)
	if spec.rsa {
		key = rsaKey()
	}
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(t),
		Subject:      pkix.Name{CommonName: spec.cn},
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     spec.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	for _, n := range spec.names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return testLeaf{cert: sign(t, tmpl, ca.cert, key.Public(), ca.key), key: key}
}

func sign(t *testing.T, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randSerial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func certPEM(chain ...*x509.Certificate) []byte {
	var b []byte
	for _, c := range chain {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

func keyPEM(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// writePair writes dir/base.crt (leaf then chain) and dir/base.key.
func writePair(t *testing.T, dir, base string, l testLeaf, chain ...*x509.Certificate) Pair {
	t.Helper()
	p := Pair{CertFile: filepath.Join(dir, base+".crt"), KeyFile: filepath.Join(dir, base+".key")}
	writeFile(t, p.CertFile, certPEM(append([]*x509.Certificate{l.cert}, chain...)...))
	writeFile(t, p.KeyFile, keyPEM(t, l.key))
	return p
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsCert is l as crypto/tls wants it, for Put.
func (l testLeaf) tlsCert() *tls.Certificate {
	return &tls.Certificate{Certificate: [][]byte{l.cert.Raw}, PrivateKey: l.key}
}

package pebbletest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// APICert is the TLS setup of a CA's own HTTPS API (the ACME and the
// management API): a certificate for 127.0.0.1 and localhost, signed by a
// CA made for it. Its files live until the test that made it ends.
type APICert struct {
	Roots     *x509.CertPool // the CA that signed the certificate
	RootsFile string         // Roots as a PEM file
	CertFile  string         // the certificate, PEM
	KeyFile   string         // its PKCS #8 private key, PEM
}

// apiCertLife is how long an API certificate is valid from now.
const apiCertLife = 24 * time.Hour

// NewAPICert makes a CA and a certificate for 127.0.0.1 signed by it. A
// test makes one itself to know Roots before the CA starts, or to restart a
// CA at the same address under the same trust.
func NewAPICert(t testing.TB) *APICert {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "nave test ACME API CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(apiCertLife),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caCert := createCert(t, caTmpl, caTmpl, caKey, caKey)
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(apiCertLife),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	cert := createCert(t, tmpl, caCert, key, caKey)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("pebbletest: API key: %v", err)
	}
	a := &APICert{
		Roots:     x509.NewCertPool(),
		RootsFile: filepath.Join(dir, "api-ca.pem"),
		CertFile:  filepath.Join(dir, "api.pem"),
		KeyFile:   filepath.Join(dir, "api.key"),
	}
	a.Roots.AddCert(caCert)
	writePEM(t, a.RootsFile, "CERTIFICATE", caCert.Raw)
	writePEM(t, a.CertFile, "CERTIFICATE", cert.Raw)
	writePEM(t, a.KeyFile, "PRIVATE KEY", keyDER)
	return a
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("pebbletest: API key: %v", err)
	}
	return key
}

// createCert signs tmpl's certificate for key with parent and parentKey.
func createCert(t testing.TB, tmpl, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatalf("pebbletest: API certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("pebbletest: API certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	return cert
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("pebbletest: %v", err)
	}
}

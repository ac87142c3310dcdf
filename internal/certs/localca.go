package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LocalCA is a development certificate authority kept on disk, like
// Caddy's "tls internal": a root the user trusts once (TrustInstructions),
// which then issues short-lived leaves for localhost and any other name.
// It is safe for concurrent use; it never changes after OpenLocalCA.
type LocalCA struct {
	dir  string
	cert *x509.Certificate
	key  crypto.Signer
	now  func() time.Time
	// after waits between renewals in Keep; tests replace it.
	after func(time.Duration) <-chan time.Time
}

const (
	caCertName = "ca.crt"
	caKeyName  = "ca.key"

	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 7 * 24 * time.Hour
	// clockSkew backdates every certificate so a client whose clock is a
	// little behind still accepts it.
	clockSkew = time.Hour
)

// OpenLocalCA loads the CA kept in dir, or creates it when dir is absent or
// empty; created reports which. dir belongs to the CA (e.g.
// filepath.Join(StateDir(), "ca")): it holds ca.crt and ca.key, both 0600,
// and is itself 0700; its parent is created 0700 when missing.
//
// The root is ECDSA P-256, valid ten years, CN "nave local CA <random id>"
// so that two machines' CAs are told apart in a trust store, and may sign
// only leaves (path length 0). It has no name constraints: it issues for
// any name the user asks, and its key never leaves the machine.
//
// Concurrent first starts are safe: each builds the CA in a private
// temporary directory and renames it to dir; the rename is atomic and fails
// for all but the first, which then load the winner's CA.
func OpenLocalCA(dir string) (ca *LocalCA, created bool, err error) {
	ca, err = loadCA(dir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return ca, false, err
	}
	ca, err = createCA(dir)
	if err == nil {
		return ca, true, nil
	}
	// Someone else created it first, or dir holds something else.
	ca, lerr := loadCA(dir)
	if lerr != nil {
		return nil, false, errors.Join(err, lerr)
	}
	return ca, false, nil
}

// CertFile is the path of the CA's certificate, the file users trust.
func (ca *LocalCA) CertFile() string { return filepath.Join(ca.dir, caCertName) }

func loadCA(dir string) (*LocalCA, error) {
	chain, cert, err := readChain(filepath.Join(dir, caCertName))
	if err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, caKeyName)
	key, err := readKey(keyFile)
	if err != nil {
		return nil, err
	}
	certFile := filepath.Join(dir, caCertName)
	switch {
	case len(chain) != 1 || !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, &FileError{Path: certFile, Err: ErrNotCA}
	case !publicKeyMatches(cert.PublicKey, key):
		return nil, &FileError{Path: keyFile, Cert: certFile, Err: ErrKeyMismatch}
	case time.Now().After(cert.NotAfter):
		return nil, &FileError{Path: certFile,
			Err: fmt.Errorf("%w (remove %s to make a new CA)", ErrExpired, dir)}
	}
	return &LocalCA{dir: dir, cert: cert, key: key, now: time.Now}, nil
}

func createCA(dir string) (*LocalCA, error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("certs: create local CA: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-*") // mode 0700
	if err != nil {
		return nil, fmt.Errorf("certs: create local CA: %w", err)
	}
	defer os.RemoveAll(tmp) // gone after a successful rename; cleans up otherwise
	ca, err := newCA(time.Now())
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return nil, fmt.Errorf("certs: create local CA: %w", err)
	}
	if err := writeNew(filepath.Join(tmp, caKeyName), "PRIVATE KEY", keyDER); err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(tmp, caCertName), "CERTIFICATE", ca.cert.Raw); err != nil {
		return nil, err
	}
	// os.Rename refuses to replace a directory, even an empty one, so an
	// empty dir is removed first; Remove fails on a non-empty one, and then
	// so does the rename.
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		os.Remove(dir)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("certs: create local CA: %w", err)
	}
	ca.dir = dir
	return ca, nil
}

func newCA(now time.Time) (*LocalCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: create local CA: %w", err)
	}
	id := make([]byte, 4)
	rand.Read(id) // crypto/rand.Read never fails (Go 1.24)
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "nave local CA " + hex.EncodeToString(id), Organization: []string{"nave local CA"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("certs: create local CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: create local CA: %w", err)
	}
	return &LocalCA{cert: cert, key: key, now: time.Now}, nil
}

// writeNew writes one PEM block to a file that must not exist, mode 0600,
// and syncs it so the rename that publishes it never exposes an empty file
// after a crash.
func writeNew(path, typ string, der []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("certs: create local CA: %w", err)
	}
	err = pem.Encode(f, &pem.Block{Type: typ, Bytes: der})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("certs: create local CA: %w", err)
	}
	return nil
}

// Issue returns a new leaf for localhost, 127.0.0.1 and ::1 plus names
// (DNS names or IP addresses): ECDSA P-256, valid leafValidity from an
// hour ago, for server authentication only. The chain is the leaf alone:
// clients that trust the root need nothing else to build the path, and
// RFC 8446 §4.4.2 lets the server leave the root out.
func (ca *LocalCA) Issue(names []string) (*tls.Certificate, error) {
	dns, ips := splitNames(append([]string{"localhost", "127.0.0.1", "::1"}, names...))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: issue local certificate: %w", err)
	}
	start := ca.now().Add(-clockSkew)
	end := start.Add(leafValidity)
	if end.After(ca.cert.NotAfter) {
		end = ca.cert.NotAfter
	}
	cn := "localhost"
	if len(names) > 0 {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"nave local CA"}},
		NotBefore:    start,
		NotAfter:     end,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dns,
	}
	for _, a := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, a.AsSlice())
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("certs: issue local certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: issue local certificate: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// splitNames sorts names into normalized DNS names and IP addresses
// ("[::1]" accepted), dropping empties and duplicates, keeping order.
func splitNames(names []string) (dns []string, ips []netip.Addr) {
	seen := map[string]bool{}
	for _, n := range names {
		n = normalizeName(strings.TrimSpace(n))
		if a, err := netip.ParseAddr(strings.Trim(n, "[]")); err == nil {
			n = a.Unmap().String() // one spelling per address
			if !seen[n] {
				ips = append(ips, a.Unmap())
			}
		} else if n != "" && !seen[n] {
			dns = append(dns, n)
		}
		seen[n] = true
	}
	return dns, ips
}

// randomSerial is a 128-bit positive serial, as CA/Browser Forum rules ask
// for at least 64 bits of randomness.
func randomSerial() *big.Int {
	b := make([]byte, 16)
	rand.Read(b)
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b)
}

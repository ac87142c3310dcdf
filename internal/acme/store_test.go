package acme

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// selfSigned returns a DER certificate for name signed by its own key.
func selfSigned(t *testing.T, name string) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func TestStoreCertRoundTrip(t *testing.T) {
	s := store{dir: filepath.Join(t.TempDir(), "ca")}
	der, key := selfSigned(t, "a.example")
	if err := s.saveCert("a.example", [][]byte{der}, key); err != nil {
		t.Fatal(err)
	}
	cert, err := s.loadCert("a.example")
	if err != nil {
		t.Fatal(err)
	}
	if cert.Leaf == nil || cert.Leaf.DNSNames[0] != "a.example" {
		t.Fatalf("got leaf %v, want one for a.example", cert.Leaf)
	}
	for _, p := range []string{s.chainPath("a.example"), s.keyPath("a.example")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != filePerm {
			t.Errorf("%s: got mode %v, want %v", p, got, filePerm)
		}
	}
	for _, d := range []string{s.dir, filepath.Dir(s.chainPath("a.example"))} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != dirPerm {
			t.Errorf("%s: got mode %v, want %v", d, got, dirPerm)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(s.chainPath("a.example")))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("got files %q, want only the chain and the key", names)
	}
}

func TestStoreLoadMissing(t *testing.T) {
	s := store{dir: t.TempDir()}
	if _, err := s.loadCert("a.example"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
}

// A crash between writing a new key and its chain leaves a pair that does
// not match: loading must refuse it, not serve a certificate it cannot use.
func TestStoreLoadMismatchedPair(t *testing.T) {
	s := store{dir: t.TempDir()}
	der, key := selfSigned(t, "a.example")
	if err := s.saveCert("a.example", [][]byte{der}, key); err != nil {
		t.Fatal(err)
	}
	_, other := selfSigned(t, "a.example")
	pemKey, err := encodeKey(other)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(s.keyPath("a.example"), pemKey); err != nil {
		t.Fatal(err)
	}
	if _, err := s.loadCert("a.example"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want a key mismatch error", err)
	}
}

func TestStoreAccountKeyKept(t *testing.T) {
	s := store{dir: filepath.Join(t.TempDir(), "ca")}
	first, err := s.accountKey()
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.accountKey()
	if err != nil {
		t.Fatal(err)
	}
	if !first.Equal(second) {
		t.Fatal("a second load made a new account key")
	}
	fi, err := os.Stat(s.accountPath())
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != filePerm {
		t.Errorf("got mode %v, want %v", got, filePerm)
	}
}

func TestStoreAccountKeyDamaged(t *testing.T) {
	s := store{dir: t.TempDir()}
	if err := writeAtomic(s.accountPath(), []byte("not a key")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.accountKey(); err == nil {
		t.Fatal("a damaged account key loaded")
	}
	got, err := os.ReadFile(s.accountPath())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "not a key" {
		t.Fatalf("got %q, want the damaged key left in place", got)
	}
}

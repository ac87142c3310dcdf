package certs

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadPairGood(t *testing.T) {
	dir := t.TempDir()
	root := newTestRoot(t)
	inter := root.intermediate(t)
	ec := root.leaf(t, leafSpec{names: []string{"ec.test"}})
	rs := root.leaf(t, leafSpec{names: []string{"rsa.test"}, rsa: true})
	chained := inter.leaf(t, leafSpec{names: []string{"chain.test"}})

	sec1 := filepath.Join(dir, "sec1.key")
	der, err := x509.MarshalECPrivateKey(ec.key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, sec1, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	pkcs1 := filepath.Join(dir, "pkcs1.key")
	writeFile(t, pkcs1, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Bytes: x509.MarshalPKCS1PrivateKey(rs.key.(*rsa.PrivateKey))}))

	tests := []struct {
		name      string
		pair      Pair
		wantChain int
		wantLeaf  *x509.Certificate
	}{
		{"ecdsa_pkcs8", writePair(t, dir, "ec", ec), 1, ec.cert},
		{"rsa_pkcs8", writePair(t, dir, "rsa", rs), 1, rs.cert},
		{"ecdsa_sec1", Pair{filepath.Join(dir, "ec.crt"), sec1}, 1, ec.cert},
		{"rsa_pkcs1", Pair{filepath.Join(dir, "rsa.crt"), pkcs1}, 1, rs.cert},
		{"chain_with_intermediate", writePair(t, dir, "chain", chained, inter.cert), 2, chained.cert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadPair(tt.pair, time.Now())
			if err != nil {
				t.Fatalf("loadPair: %v", err)
			}
			if len(c.Certificate) != tt.wantChain {
				t.Errorf("chain length %d, want %d", len(c.Certificate), tt.wantChain)
			}
			if c.Leaf == nil || !c.Leaf.Equal(tt.wantLeaf) {
				t.Errorf("leaf is not the first certificate in the file")
			}
		})
	}
}

func TestLoadPairErrors(t *testing.T) {
	dir := t.TempDir()
	root := newTestRoot(t)
	good := writePair(t, dir, "good", root.leaf(t, leafSpec{names: []string{"good.test"}}))
	other := writePair(t, dir, "other", root.leaf(t, leafSpec{names: []string{"other.test"}}))
	expired := writePair(t, dir, "expired", root.leaf(t, leafSpec{names: []string{"old.test"},
		notAfter: time.Now().Add(-time.Minute)}))
	garbage := filepath.Join(dir, "garbage.pem")
	writeFile(t, garbage, []byte("this is not PEM\n"))
	keyOnly := good.KeyFile // a key file has no CERTIFICATE block
	certOnly := good.CertFile
	badKey := filepath.Join(dir, "bad.key")
	writeFile(t, badKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}))
	badCert := filepath.Join(dir, "bad.crt")
	writeFile(t, badCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}))
	missing := filepath.Join(dir, "missing.crt")

	tests := []struct {
		name     string
		pair     Pair
		wantErr  error
		wantFile string // the file the error must name
		wantMsg  string // all of the message, when fixed
	}{
		{"missing_cert", Pair{missing, good.KeyFile}, fs.ErrNotExist, missing,
			"certs: " + missing + ": no such file or directory"},
		{"missing_key", Pair{good.CertFile, missing}, fs.ErrNotExist, missing, ""},
		{"directory_as_cert", Pair{dir, good.KeyFile}, nil, dir, ""},
		{"garbage_cert", Pair{garbage, good.KeyFile}, ErrNoCertificate, garbage,
			"certs: " + garbage + ": no PEM certificate"},
		{"key_given_as_cert", Pair{keyOnly, good.KeyFile}, ErrNoCertificate, keyOnly, ""},
		{"malformed_cert", Pair{badCert, good.KeyFile}, ErrBadCertificate, badCert, ""},
		{"garbage_key", Pair{good.CertFile, garbage}, ErrNoPrivateKey, garbage,
			"certs: " + garbage + ": no PEM private key"},
		{"cert_given_as_key", Pair{good.CertFile, certOnly}, ErrNoPrivateKey, certOnly, ""},
		{"malformed_key", Pair{good.CertFile, badKey}, ErrUnsupportedKey, badKey, ""},
		{"mismatched_key", Pair{good.CertFile, other.KeyFile}, ErrKeyMismatch, other.KeyFile,
			"certs: " + other.KeyFile + " does not match " + good.CertFile},
		{"expired", expired, ErrExpired, expired.CertFile, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadPair(tt.pair, time.Now())
			if err == nil {
				t.Fatal("loaded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want errors.Is %v", err, tt.wantErr)
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != tt.wantFile {
				t.Errorf("got %#v, want a *FileError for %s", err, tt.wantFile)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "certs: "+tt.wantFile) {
				t.Errorf("got %q, want it to start with %q", msg, "certs: "+tt.wantFile)
			}
			if tt.wantMsg != "" && msg != tt.wantMsg {
				t.Errorf("got %q, want %q", msg, tt.wantMsg)
			}
		})
	}
}

// Both files of a pair are checked, and each problem is its own error.
func TestLoadPairReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.crt"), filepath.Join(dir, "b.key")
	_, err := loadPair(Pair{a, b}, time.Now())
	for _, f := range []string{a, b} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("got %q, want it to name %s", err, f)
		}
	}
}

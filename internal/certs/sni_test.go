package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
)

// sniFixture is a store with: a.test (the default, first loaded), b.test,
// *.w.test, and by Put an IP certificate for 127.0.0.1 and an ECDSA and an
// RSA certificate both for dual.test.
type sniFixture struct {
	store                           *Store
	a, b, wild, ip, dualEC, dualRSA *x509.Certificate
}

func newSNIFixture(t *testing.T) sniFixture {
	t.Helper()
	dir := t.TempDir()
	root := newTestRoot(t)
	a := root.leaf(t, leafSpec{names: []string{"a.test"}})
	b := root.leaf(t, leafSpec{names: []string{"B.Test"}}) // names match case-insensitively
	w := root.leaf(t, leafSpec{names: []string{"*.w.test"}})
	ip := root.leaf(t, leafSpec{names: []string{"127.0.0.1"}})
	dualEC := root.leaf(t, leafSpec{names: []string{"dual.test"}})
	dualRSA := root.leaf(t, leafSpec{names: []string{"dual.test"}, rsa: true})
	s := NewStore(nil)
	if err := s.LoadFiles([]Pair{
		writePair(t, dir, "a", a), writePair(t, dir, "b", b), writePair(t, dir, "w", w),
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		key  string
		leaf testLeaf
	}{{"ip", ip}, {"ec", dualEC}, {"rsa", dualRSA}} {
		if err := s.Put(p.key, p.leaf.tlsCert()); err != nil {
			t.Fatal(err)
		}
	}
	return sniFixture{s, a.cert, b.cert, w.cert, ip.cert, dualEC.cert, dualRSA.cert}
}

// Real handshakes: Go's client asks for a name, the test checks which leaf
// came back.
func TestSNIHandshake(t *testing.T) {
	f := newSNIFixture(t)
	cfg, err := ServerConfig(f.store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := startTLS(t, cfg)
	rsaOnly := insecure("dual.test")
	rsaOnly.MaxVersion = tls.VersionTLS12
	rsaOnly.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}

	tests := []struct {
		name   string
		client *tls.Config
		want   *x509.Certificate
	}{
		{"exact_a", insecure("a.test"), f.a},
		{"exact_b_other_case", insecure("b.TEST"), f.b},
		{"wildcard", insecure("www.w.test"), f.wild},
		{"wildcard_one_label_only", insecure("x.www.w.test"), f.a},
		{"wildcard_not_the_apex", insecure("w.test"), f.a},
		{"unknown_gets_default", insecure("nobody.test"), f.a},
		{"no_sni_gets_local_ip", insecure(""), f.ip},
		{"both_key_types_ecdsa_first", insecure("dual.test"), f.dualEC},
		{"rsa_only_client_gets_rsa", rsaOnly, f.dualRSA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := srv.served(t, tt.client)
			if !got.Equal(tt.want) {
				t.Errorf("got %s, want %s", describe(got), describe(tt.want))
			}
		})
	}
}

// The selection rules without a socket, for what a Go client cannot send.
func TestGetCertificate(t *testing.T) {
	f := newSNIFixture(t)
	tests := []struct {
		name string
		sni  string
		want *x509.Certificate
	}{
		{"trailing_dot", "a.test.", f.a},
		{"upper_case", "A.TEST", f.a},
		{"ip_literal_sni", "127.0.0.1", f.ip},
		{"ip_literal_unknown", "10.9.9.9", f.a},
		{"no_sni_no_conn", "", f.a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.store.GetCertificate(&tls.ClientHelloInfo{ServerName: tt.sni})
			if err != nil {
				t.Fatal(err)
			}
			if !c.Leaf.Equal(tt.want) {
				t.Errorf("got %s, want %s", describe(c.Leaf), describe(tt.want))
			}
		})
	}
}

func TestGetCertificateEmptyStore(t *testing.T) {
	_, err := NewStore(nil).GetCertificate(&tls.ClientHelloInfo{ServerName: "a.test"})
	if !errors.Is(err, ErrNoCertificateForName) {
		t.Errorf("got %v, want %v", err, ErrNoCertificateForName)
	}
}

// A handshake with an empty store fails on the server, not with a panic.
func TestEmptyStoreRefusesHandshake(t *testing.T) {
	cfg, err := ServerConfig(NewStore(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := startTLS(t, cfg)
	_, cerr, serr := srv.dial(t, insecure("a.test"))
	if cerr == nil || !errors.Is(serr, ErrNoCertificateForName) {
		t.Errorf("got client %v, server %v; want both to fail", cerr, serr)
	}
}

func describe(c *x509.Certificate) string {
	return fmt.Sprintf("%v %v %v serial %v", c.PublicKeyAlgorithm, c.DNSNames, c.IPAddresses, c.SerialNumber)
}

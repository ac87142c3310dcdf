package certs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpenLocalCACreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "ca") // parent absent too
	ca, created, err := OpenLocalCA(dir)
	if err != nil || !created {
		t.Fatalf("got created=%v err=%v, want a new CA", created, err)
	}
	for _, m := range []struct {
		path string
		want fs.FileMode
	}{
		{filepath.Dir(dir), fs.ModeDir | 0o700},
		{dir, fs.ModeDir | 0o700},
		{filepath.Join(dir, "ca.crt"), 0o600},
		{filepath.Join(dir, "ca.key"), 0o600},
	} {
		fi, err := os.Stat(m.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != m.want {
			t.Errorf("%s: got mode %v, want %v", m.path, fi.Mode(), m.want)
		}
	}
	if ca.CertFile() != filepath.Join(dir, "ca.crt") {
		t.Errorf("got CertFile %q, want %q", ca.CertFile(), filepath.Join(dir, "ca.crt"))
	}

	c := ca.cert
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	switch {
	case !ok || pub.Curve != elliptic.P256():
		t.Errorf("root key is %T, want ECDSA P-256", c.PublicKey)
	case !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero:
		t.Error("root is not a CA limited to signing leaves")
	case c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign:
		t.Errorf("got key usage %b, want cert sign and CRL sign", c.KeyUsage)
	case !strings.HasPrefix(c.Subject.CommonName, "nave local CA ") || len(c.Subject.CommonName) <= len("nave local CA "):
		t.Errorf("got CN %q, want \"nave local CA <id>\"", c.Subject.CommonName)
	case c.NotAfter.Sub(c.NotBefore) < 10*365*24*time.Hour:
		t.Errorf("valid %v, want ten years", c.NotAfter.Sub(c.NotBefore))
	}
}

func TestOpenLocalCAReuses(t *testing.T) {
	dir := t.TempDir() // exists and is empty: the CA is made in it
	first, created, err := OpenLocalCA(dir)
	if err != nil || !created {
		t.Fatalf("got created=%v err=%v, want a new CA", created, err)
	}
	before, err := os.ReadFile(first.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	again, created, err := OpenLocalCA(dir)
	if err != nil || created {
		t.Fatalf("got created=%v err=%v, want the existing CA", created, err)
	}
	after, err := os.ReadFile(again.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) || !again.cert.Equal(first.cert) {
		t.Error("opening again changed the CA")
	}
}

// Several first starts at once agree on one CA and leave nothing behind.
func TestOpenLocalCAConcurrentStarts(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "ca")
	const n = 8
	cas := make([]*LocalCA, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { cas[i], created[i], errs[i] = OpenLocalCA(dir) })
	}
	wg.Wait()
	made := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		if created[i] {
			made++
		}
		if !cas[i].cert.Equal(cas[0].cert) {
			t.Errorf("start %d got a different CA", i)
		}
	}
	if made != 1 {
		t.Errorf("%d starts created the CA, want 1", made)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Errorf("got %d entries beside the CA, want none: %v", len(ents)-1, ents)
	}
	if _, _, err := OpenLocalCA(dir); err != nil {
		t.Fatal(err)
	}
}

// A directory that holds something other than a complete CA is reported,
// not overwritten.
func TestOpenLocalCABadFiles(t *testing.T) {
	good := t.TempDir()
	if _, _, err := OpenLocalCA(good); err != nil {
		t.Fatal(err)
	}
	root := newTestRoot(t)
	leaf := root.leaf(t, leafSpec{names: []string{"a.test"}})
	tests := []struct {
		name     string
		files    map[string][]byte
		wantErr  error
		wantFile string
	}{
		{"garbage_cert", map[string][]byte{"ca.crt": []byte("junk"), "ca.key": keyPEM(t, leaf.key)},
			ErrNoCertificate, "ca.crt"},
		{"key_missing", map[string][]byte{"ca.crt": certPEM(root.cert)}, fs.ErrNotExist, "ca.key"},
		{"not_a_ca", map[string][]byte{"ca.crt": certPEM(leaf.cert), "ca.key": keyPEM(t, leaf.key)},
			ErrNotCA, "ca.crt"},
		{"key_of_another", map[string][]byte{"ca.crt": certPEM(root.cert), "ca.key": keyPEM(t, leaf.key)},
			ErrKeyMismatch, "ca.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				writeFile(t, filepath.Join(dir, name), data)
			}
			_, _, err := OpenLocalCA(dir)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), filepath.Join(dir, tt.wantFile)) {
				t.Fatalf("got %v, want %v naming %s", err, tt.wantErr, tt.wantFile)
			}
			for name, data := range tt.files {
				if got, _ := os.ReadFile(filepath.Join(dir, name)); !bytes.Equal(got, data) {
					t.Errorf("%s was overwritten", name)
				}
			}
		})
	}
}

// localServer opens a CA, issues a leaf for names and serves it; it
// returns the CA file and a pool holding only what that file contains.
func localServer(t *testing.T, names []string, o Options) (caFile string, pool *x509.CertPool, s *Store) {
	t.Helper()
	ca, _, err := OpenLocalCA(filepath.Join(t.TempDir(), "ca"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(names)
	if err != nil {
		t.Fatal(err)
	}
	s = NewStore(nil)
	if err := s.Put(LocalKey, leaf); err != nil {
		t.Fatal(err)
	}
	pemData, err := os.ReadFile(ca.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		t.Fatal("ca.crt holds no certificate")
	}
	return ca.CertFile(), pool, s
}

// Go's client, trusting only ca.crt, verifies the issued leaf for each of
// its names in a real handshake, and refuses a name it was not issued for.
func TestIssuedLeafVerifies(t *testing.T) {
	_, pool, s := localServer(t, []string{"dev.test", "192.168.7.7"}, Options{})
	cfg, err := ServerConfig(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := startTLS(t, cfg)
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "dev.test", "192.168.7.7"} {
		t.Run(name, func(t *testing.T) {
			c, cerr, serr := srv.dial(t, &tls.Config{ServerName: name, RootCAs: pool})
			if cerr != nil || serr != nil {
				t.Fatalf("handshake failed: client %v, server %v", cerr, serr)
			}
			leaf := c.ConnectionState().PeerCertificates[0]
			if len(c.ConnectionState().PeerCertificates) != 1 {
				t.Errorf("got a chain of %d, want the leaf alone", len(c.ConnectionState().PeerCertificates))
			}
			if life := leaf.NotAfter.Sub(leaf.NotBefore); life != 7*24*time.Hour {
				t.Errorf("valid %v, want 7 days", life)
			}
			if skew := time.Since(leaf.NotBefore); skew < time.Hour {
				t.Errorf("NotBefore only %v ago, want an hour back for clock skew", skew)
			}
		})
	}
	t.Run("other_name_refused", func(t *testing.T) {
		_, cerr, _ := srv.dial(t, &tls.Config{ServerName: "other.test", RootCAs: pool})
		var he x509.HostnameError
		if !errors.As(cerr, &he) {
			t.Errorf("got %v, want a hostname error", cerr)
		}
	})
}

// curl, trusting only ca.crt, gets a page from a server using the issued
// leaf, by name and by address.
func TestIssuedLeafWithCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	caFile, _, s := localServer(t, nil, Options{})
	cfg, err := ServerConfig(s, Options{NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const body = "hello over local TLS\n"
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, body)
	})}
	go hs.Serve(tls.NewListener(ln, cfg))
	t.Cleanup(func() { hs.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	for _, url := range []string{
		fmt.Sprintf("https://localhost:%d/", port),
		fmt.Sprintf("https://127.0.0.1:%d/", port),
	} {
		t.Run(url, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), safety)
			defer cancel()
			// --resolve pins localhost to the IPv4 listener.
			out, err := exec.CommandContext(ctx, "curl", "--silent", "--show-error", "--noproxy", "*",
				"--resolve", fmt.Sprintf("localhost:%d:127.0.0.1", port),
				"--cacert", caFile, url).CombinedOutput()
			if err != nil || string(out) != body {
				t.Errorf("curl: %v: got %q, want %q", err, out, body)
			}
		})
	}
}

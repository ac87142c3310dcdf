package certs

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadFilesAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	root := newTestRoot(t)
	a := root.leaf(t, leafSpec{names: []string{"a.test"}})
	b := root.leaf(t, leafSpec{names: []string{"b.test"}})
	s := NewStore(nil)
	if err := s.LoadFiles([]Pair{writePair(t, dir, "a", a)}); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.crt")
	bad := []Pair{writePair(t, dir, "b", b), {missing, filepath.Join(dir, "b.key")}}
	err := s.LoadFiles(bad)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("got %v, want an error naming %s", err, missing)
	}
	if got, want := s.Names(), []string{"a.test"}; !slices.Equal(got, want) {
		t.Errorf("after a refused load got names %q, want %q", got, want)
	}
}

// Every bad pair is reported, not only the first.
func TestLoadFilesReportsEveryPair(t *testing.T) {
	dir := t.TempDir()
	p1 := Pair{filepath.Join(dir, "one.crt"), filepath.Join(dir, "one.key")}
	p2 := Pair{filepath.Join(dir, "two.crt"), filepath.Join(dir, "two.key")}
	err := NewStore(nil).LoadFiles([]Pair{p1, p2})
	for _, f := range []string{p1.CertFile, p1.KeyFile, p2.CertFile, p2.KeyFile} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("got %v, want it to name %s", err, f)
		}
	}
}

func TestLoadFilesLogsEachCertificate(t *testing.T) {
	dir := t.TempDir()
	root := newTestRoot(t)
	var buf bytes.Buffer
	s := NewStore(slog.New(slog.NewTextHandler(&buf, nil)))
	p := writePair(t, dir, "a", root.leaf(t, leafSpec{names: []string{"a.test", "10.0.0.1"}}))
	if err := s.LoadFiles([]Pair{p}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"level=INFO", "names=a.test,10.0.0.1", "not_after=", p.CertFile} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %q lacks %q", buf.String(), want)
		}
	}
}

func TestPutReplaceDelete(t *testing.T) {
	root := newTestRoot(t)
	one := root.leaf(t, leafSpec{names: []string{"acme.test"}})
	two := root.leaf(t, leafSpec{names: []string{"acme.test", "www.acme.test"}})
	s := NewStore(nil)
	get := func(name string) *tls.Certificate {
		t.Helper()
		c, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := s.Put("acme:acme.test", one.tlsCert()); err != nil { // Leaf nil: parsed by Put
		t.Fatal(err)
	}
	if got := get("acme.test"); !got.Leaf.Equal(one.cert) {
		t.Errorf("got %s, want %s", describe(got.Leaf), describe(one.cert))
	}
	if err := s.Put("acme:acme.test", two.tlsCert()); err != nil {
		t.Fatal(err)
	}
	if got := get("acme.test"); !got.Leaf.Equal(two.cert) {
		t.Errorf("after replace got %s, want %s", describe(got.Leaf), describe(two.cert))
	}
	if got, want := s.Names(), []string{"acme.test", "www.acme.test"}; !slices.Equal(got, want) {
		t.Errorf("got names %q, want %q", got, want)
	}
	s.Delete("acme:acme.test")
	if got := s.Names(); len(got) != 0 {
		t.Errorf("after delete got names %q, want none", got)
	}
}

func TestPutRefusesNonCertificates(t *testing.T) {
	tests := []struct {
		name    string
		cert    *tls.Certificate
		wantErr error
	}{
		{"nil", nil, ErrNoCertificate},
		{"empty", &tls.Certificate{}, ErrNoCertificate},
		{"garbage", &tls.Certificate{Certificate: [][]byte{[]byte("junk")}}, ErrBadCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := NewStore(nil).Put("k", tt.cert); !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// File certificates come before Put ones: the first file is the default
// even when a Put came first.
func TestDefaultIsFirstFile(t *testing.T) {
	dir := t.TempDir()
	root := newTestRoot(t)
	put := root.leaf(t, leafSpec{names: []string{"put.test"}})
	file := root.leaf(t, leafSpec{names: []string{"file.test"}})
	s := NewStore(nil)
	if err := s.Put("local", put.tlsCert()); err != nil {
		t.Fatal(err)
	}
	c, _ := s.GetCertificate(&tls.ClientHelloInfo{})
	if !c.Leaf.Equal(put.cert) {
		t.Errorf("with only a Put, got %s, want %s", describe(c.Leaf), describe(put.cert))
	}
	if err := s.LoadFiles([]Pair{writePair(t, dir, "f", file)}); err != nil {
		t.Fatal(err)
	}
	c, _ = s.GetCertificate(&tls.ClientHelloInfo{})
	if !c.Leaf.Equal(file.cert) {
		t.Errorf("got %s, want %s", describe(c.Leaf), describe(file.cert))
	}
}

// Handshakes read while certificates change; run with -race this checks
// that GetCertificate needs no lock and always sees a whole snapshot.
func TestGetCertificateDuringChanges(t *testing.T) {
	dir := t.TempDir()
	root := newTestRoot(t)
	a := root.leaf(t, leafSpec{names: []string{"a.test"}})
	b := root.leaf(t, leafSpec{names: []string{"b.test"}})
	s := NewStore(nil)
	if err := s.LoadFiles([]Pair{writePair(t, dir, "a", a)}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, name := range []string{"a.test", "b.test"} {
				c, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
				if err != nil || c.Leaf == nil {
					errs <- fmt.Errorf("GetCertificate(%s): %v", name, err)
					return
				}
			}
		}
	}()
	for range 50 {
		if err := s.Put("b", b.tlsCert()); err != nil {
			t.Fatal(err)
		}
		if err := s.Reload(); err != nil {
			t.Fatal(err)
		}
		s.Delete("b")
	}
	close(done)
	if err := <-errs; err != nil {
		t.Error(err)
	}
}

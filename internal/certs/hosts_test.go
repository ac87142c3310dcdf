package certs

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckNames(t *testing.T) {
	dir := t.TempDir()
	root := newTestRoot(t)
	site := writePair(t, dir, "site", root.leaf(t, leafSpec{names: []string{"site.test", "www.site.test"}}))
	wild := writePair(t, dir, "wild", root.leaf(t, leafSpec{names: []string{"*.apps.test"}}))
	s := NewStore(nil)
	if err := s.LoadFiles([]Pair{site, wild}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		hosts     []string
		wantFiles []string // certificate files the error must name; none: no error
	}{
		{"no_hosts_accepts_all", nil, nil},
		{"both_used", []string{"WWW.site.test.", "x.apps.test"}, nil},
		{"host_wildcard_meets_cert_name", []string{"*.site.test", "*.apps.test"}, nil},
		{"wild_unused", []string{"site.test"}, []string{wild.CertFile}},
		{"wild_covers_one_label_only", []string{"site.test", "a.b.apps.test"}, []string{wild.CertFile}},
		{"none_used", []string{"other.test"}, []string{site.CertFile, wild.CertFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CheckNames(tt.hosts)
			if len(tt.wantFiles) == 0 {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if !errors.Is(err, ErrNoHostMatch) {
				t.Fatalf("got %v, want %v", err, ErrNoHostMatch)
			}
			for _, f := range tt.wantFiles {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("got %q, want it to name %s", err, f)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.wantFiles) {
				t.Errorf("got %d errors, want %d: %q", n, len(tt.wantFiles), err)
			}
		})
	}
}

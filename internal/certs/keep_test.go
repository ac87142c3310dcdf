package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"
)

func TestRenewAt(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		from, to time.Time
		want     time.Time
	}{
		{"local_leaf_7d", t0, t0.Add(7 * 24 * time.Hour), t0.Add(112 * time.Hour)}, // 4d16h
		{"90d", t0, t0.Add(90 * 24 * time.Hour), t0.Add(60 * 24 * time.Hour)},
		{"3h", t0, t0.Add(3 * time.Hour), t0.Add(2 * time.Hour)},
		{"expired_long_ago", t0.Add(-48 * time.Hour), t0.Add(-45 * time.Hour), t0.Add(-46 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renewAt(&x509.Certificate{NotBefore: tt.from, NotAfter: tt.to}); !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// Keep puts a leaf at once, then renews it each time its wait ends. The
// wait is a channel the test fires, so nothing depends on the clock.
func TestKeepRenews(t *testing.T) {
	ca, _, err := OpenLocalCA(filepath.Join(t.TempDir(), "ca"))
	if err != nil {
		t.Fatal(err)
	}
	asked := make(chan time.Duration)
	fire := make(chan time.Time)
	ca.after = func(d time.Duration) <-chan time.Time {
		asked <- d
		return fire
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewStore(nil)
	before := time.Now()
	if err := ca.Keep(ctx, s, []string{"dev.test"}, nil); err != nil {
		t.Fatal(err)
	}
	served := func() *x509.Certificate {
		t.Helper()
		c, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: "dev.test"})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf
	}
	first := served()
	wait := <-asked
	// The loop read the clock between before and now.
	if lo, hi := renewAt(first).Sub(time.Now()), renewAt(first).Sub(before); wait < lo || wait > hi {
		t.Errorf("waits %v before renewing, want between %v and %v", wait, lo, hi)
	}
	fire <- time.Now()
	<-asked // the loop waits again: the renewal is done
	if second := served(); second.Equal(first) {
		t.Error("the leaf was not renewed")
	}
}

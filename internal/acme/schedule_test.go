package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const lo, hi = time.Minute, time.Hour
	tests := []struct {
		n    int
		want time.Duration // the upper bound; the draw is in [want/2, want]
	}{
		{1, time.Minute},
		{2, 2 * time.Minute},
		{3, 4 * time.Minute},
		{6, 32 * time.Minute},
		{7, time.Hour},
		{50, time.Hour},
	}
	for _, tt := range tests {
		for range 100 {
			got := backoff(tt.n, lo, hi)
			if got < tt.want/2 || got > tt.want {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.n, got, tt.want/2, tt.want)
			}
		}
	}
}

func TestBackoffTiny(t *testing.T) {
	if got := backoff(1, time.Nanosecond, time.Nanosecond); got != time.Nanosecond {
		t.Fatalf("got %v, want 1ns", got)
	}
}

func TestRenewAt(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		life        time.Duration
		renewBefore time.Duration
		want        time.Duration // after NotBefore
	}{
		{"default_third", 90 * 24 * time.Hour, 0, 60 * 24 * time.Hour},
		{"short_lived_third", 6 * 24 * time.Hour, 0, 4 * 24 * time.Hour},
		{"configured", 90 * 24 * time.Hour, 30 * 24 * time.Hour, 60 * 24 * time.Hour},
		{"configured_small", 90 * 24 * time.Hour, time.Hour, 90*24*time.Hour - time.Hour},
		// RenewBefore of 30 days on a 6-day certificate would renew it as
		// soon as issued, forever: a third of the lifetime instead.
		{"longer_than_life", 6 * 24 * time.Hour, 30 * 24 * time.Hour, 4 * 24 * time.Hour},
		{"equal_to_life", 6 * 24 * time.Hour, 6 * 24 * time.Hour, 4 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manager{renewBefore: tt.renewBefore}
			cert := &tls.Certificate{Leaf: &x509.Certificate{NotBefore: start, NotAfter: start.Add(tt.life)}}
			if got, want := m.renewAt(cert), start.Add(tt.want); !got.Equal(want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestSleepUntilCancelled(t *testing.T) {
	m := &Manager{now: time.Now}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if m.sleepUntil(ctx, time.Now().Add(time.Hour)) {
		t.Fatal("sleepUntil reported a cancelled context live")
	}
	if !m.sleepUntil(context.Background(), time.Time{}) {
		t.Fatal("sleepUntil of a past time reported the context done")
	}
}

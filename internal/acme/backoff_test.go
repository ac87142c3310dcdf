package acme

import (
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

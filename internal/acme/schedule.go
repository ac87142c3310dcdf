package acme

import (
	"context"
	"crypto/tls"
	"math/rand/v2"
	"time"
)

// maxSleep caps one wait of the renewal loop, which then reads the clock
// again: a suspended machine or a stepped wall clock delays a renewal by at
// most this much.
const maxSleep = time.Hour

// backoff is the wait before retry number n (1 for the first retry) after
// failed attempts: lo doubled n-1 times, capped at hi, then drawn at random
// from its upper half, so many servers that failed together (a CA outage)
// do not come back in step.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// renewAt is when cert is due for renewal: RenewBefore ahead of expiry, or
// a third of its lifetime ahead when RenewBefore is zero or would make it
// due as soon as it is issued.
func (m *Manager) renewAt(cert *tls.Certificate) time.Time {
	leaf := cert.Leaf
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	before := m.renewBefore
	if before <= 0 || before >= life {
		before = life / 3
	}
	return leaf.NotAfter.Add(-before)
}

// sleepUntil waits until t by m.now and reports whether ctx is still live.
func (m *Manager) sleepUntil(ctx context.Context, t time.Time) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		d := t.Sub(m.now())
		if d <= 0 {
			return true
		}
		timer := time.NewTimer(min(d, maxSleep))
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
		}
	}
}

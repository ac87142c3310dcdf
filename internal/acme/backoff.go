package acme

import (
	"math/rand/v2"
	"time"
)

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

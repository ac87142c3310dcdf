package workers

import "time"

// Backoff paces the restarts of a process that keeps failing: no wait
// before the first try, then Min doubling up to Max.
type Backoff struct {
	Min, Max time.Duration
}

// Delay is the wait before the next try after failures failed ones.
func (b Backoff) Delay(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	return min(b.Min<<min(failures-1, 20), b.Max)
}

package acme

import "time"

// SetRetry sets the back-off bounds of m; call it before Run.
func SetRetry(m *Manager, lo, hi time.Duration) { m.retryMin, m.retryMax = lo, hi }

// SetClock sets the clock m reads for expiry and renewal; call it before Run.
func SetClock(m *Manager, now func() time.Time) { m.now = now }

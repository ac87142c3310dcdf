package proxy

import (
	"sync"
	"sync/atomic"
	"time"
)

// server is one upstream server's state: its pool of idle connections and
// its health.
type server struct {
	addr   string
	weight int

	mu   sync.Mutex
	idle []*conn // guarded by mu; the most recently used last
	h2   h2conns // with Config.H2C

	inflight  atomic.Int64 // requests being served
	downUntil atomic.Int64 // unix nanoseconds: passively out until then
	failStart atomic.Int64 // unix nanoseconds: the first failure of the current window
	fails     atomic.Int32 // failures since failStart
	unhealthy atomic.Bool  // the active check says out
	upSince   atomic.Int64 // unix nanoseconds: when it last came back (slow start)
	retired   atomic.Bool  // the handler is closed: keep no connection

	meter serverMeter
}

// available reports whether s may take requests at now.
func (s *server) available(now int64) bool {
	return !s.unhealthy.Load() && now >= s.downUntil.Load()
}

// share is the part of its weight s takes at now: 1, or less while it is
// eased in after coming back.
func (s *server) share(now int64, slowStart time.Duration) float64 {
	if slowStart <= 0 {
		return 1
	}
	up := s.upSince.Load()
	if up == 0 || now-up >= int64(slowStart) {
		return 1
	}
	return max(0.1, float64(now-up)/float64(slowStart))
}

// failed records a passive failure: after maxFails within window, s is
// out for window, then eased back in.
func (s *server) failed(now int64, maxFails int, window time.Duration) bool {
	if maxFails <= 0 {
		return false
	}
	if start := s.failStart.Load(); now-start > int64(window) {
		s.failStart.Store(now)
		s.fails.Store(0)
	}
	if int(s.fails.Add(1)) < maxFails {
		return false
	}
	until := now + int64(window)
	s.downUntil.Store(until)
	s.upSince.Store(until)
	s.fails.Store(0)
	return true
}

// succeeded forgets passive failures.
func (s *server) succeeded() {
	if s.fails.Load() != 0 {
		s.fails.Store(0)
	}
}

// get returns the most recently used idle connection that is still good,
// or nil. Connections idle longer than idle are closed.
func (s *server) get(now time.Time, idle time.Duration) *conn {
	s.mu.Lock()
	for n := len(s.idle); n > 0; n = len(s.idle) {
		c := s.idle[n-1]
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
		if idle > 0 && now.Sub(c.idleSince) > idle {
			// Everything below it idled longer still.
			old := s.idle
			s.idle = s.idle[:0]
			s.mu.Unlock()
			c.close()
			for i, o := range old {
				o.close()
				old[i] = nil
			}
			return nil
		}
		s.mu.Unlock()
		return c
	}
	s.mu.Unlock()
	return nil
}

// put keeps c for reuse, unless maxIdle are kept already.
func (s *server) put(c *conn, now time.Time, maxIdle int) {
	c.idleSince = now
	s.mu.Lock()
	if len(s.idle) < maxIdle && !s.retired.Load() {
		s.idle = append(s.idle, c)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	c.close()
}

// sweep closes the connections idle longer than idle.
func (s *server) sweep(now time.Time, idle time.Duration) {
	s.mu.Lock()
	n := 0
	for n < len(s.idle) && now.Sub(s.idle[n].idleSince) > idle {
		n++
	}
	old := append([]*conn(nil), s.idle[:n]...)
	s.idle = append(s.idle[:0], s.idle[n:]...)
	s.mu.Unlock()
	for _, c := range old {
		c.close()
	}
	s.h2sweep(idle)
}

// closeIdle closes every idle connection.
func (s *server) closeIdle() {
	s.mu.Lock()
	old := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, c := range old {
		c.close()
	}
	s.h2sweep(0)
}

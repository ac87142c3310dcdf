package server

import (
	"runtime/debug"
	"time"
)

// DefaultParkAfter is how long a connection stays idle on its own
// goroutine before the sweep parks it. Connections under load never wait
// this long, so the hot path pays nothing for parking.
const DefaultParkAfter = time.Second

// startParking starts the parker and the sweep that feeds it, when the
// platform has one. The sweep stops at shutdown.
func (s *Server) startParking() {
	p, err := newParker()
	if err != nil {
		s.log.Debug("idle connections keep their goroutines", "err", err)
		return
	}
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		p.close()
		return
	}
	s.parker = p
	s.mu.Unlock()
	go p.run(func(c *conn) { go c.serve() })
	go s.sweep(p)
}

// releaseAfterParking: once this many more connections are parked than
// at the last release, the sweep hands freed memory back to the OS.
// Parking frees goroutine stacks and request buffers, but the Go runtime
// returns freed pages only slowly; after a burst of connections goes idle,
// RSS should fall as nginx's does. At most once per releaseEvery.
const (
	releaseAfterParking = 1024
	releaseEvery        = 10 * time.Second
)

// park hands an idle connection to the parker.
func (s *Server) park(c *conn) bool {
	return s.parker != nil && s.parker.park(c)
}

// sweep, once per parkAfter period, wakes connections idle that long so that
// they park, and closes parked connections past the idle timeout.
func (s *Server) sweep(p *parker) {
	every := s.parkAfter
	t := time.NewTicker(every)
	defer t.Stop()
	idle := int64(s.cfg.idleTimeout())
	var releasedAt time.Time
	releasedParked := 0
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			n := now.UnixNano()
			s.mu.Lock()
			for c := range s.active {
				if c.fd >= 0 && c.state.Load() == stateIdle && n-c.idleSince.Load() >= int64(every) {
					c.wake()
				}
			}
			s.mu.Unlock()
			for _, c := range p.takeIf(func(c *conn) bool { return n-c.idleSince.Load() >= idle }) {
				c.finish()
			}
			parked := p.count()
			if parked < releasedParked {
				releasedParked = parked
			}
			if parked-releasedParked >= releaseAfterParking && now.Sub(releasedAt) >= releaseEvery {
				debug.FreeOSMemory()
				releasedAt, releasedParked = time.Now(), parked
			}
		}
	}
}

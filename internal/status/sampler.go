package status

import (
	"sync"
	"time"

	"nave/internal/metrics"
	"nave/internal/servermetrics"
)

// Defaults: a reading every 2 s, ten minutes of them, and "now" the last
// 10 s.
const (
	DefaultInterval = 2 * time.Second
	DefaultKeep     = 300
	DefaultWindow   = 10 * time.Second
)

// Reading is the figures at one instant: the server's counts since it
// started and its connections, and each app's workers.
type Reading struct {
	Time   time.Time
	Server servermetrics.Snapshot
	Apps   []AppReading // by name
}

// AppReading is one app's figures at an instant.
type AppReading struct {
	Name   string
	Busy   int // workers holding requests
	Idle   int // workers ready for one
	Queued int // requests waiting for a worker
	// QueueWait is the time requests waited for a worker, from arrival to
	// the app call, counted since the app started; without Bounds where
	// the app does not measure it.
	QueueWait metrics.HistogramSnapshot
}

func (r *Reading) app(name string) *AppReading {
	for i := range r.Apps {
		if r.Apps[i].Name == name {
			return &r.Apps[i]
		}
	}
	return nil
}

// Config is a Sampler's; its zero value takes the defaults.
type Config struct {
	// Read fills in a Reading; Time is set by the Sampler. It is called
	// every Interval, and for each Now; it must not block.
	Read     func(*Reading)
	Interval time.Duration
	Keep     int           // readings kept: Keep×Interval of history
	Window   time.Duration // the span of Now's rates and percentiles
}

// Sampler reads the figures every Interval and keeps the last Keep
// readings. Its methods are safe from any goroutine.
type Sampler struct {
	cfg Config

	mu   sync.Mutex
	ring []Reading // guarded by mu: a ring of cfg.Keep, ring[(head+i)%Keep] the i-th oldest
	head int       // guarded by mu
	n    int       // guarded by mu: readings held
}

// NewSampler returns a Sampler for cfg. Call Run to have it sample.
func NewSampler(cfg Config) *Sampler {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Keep < 2 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	return &Sampler{cfg: cfg, ring: make([]Reading, cfg.Keep)}
}

// Run samples at once and then every Interval, until stop is closed.
func (s *Sampler) Run(stop <-chan struct{}) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.Sample(time.Now())
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// Sample takes a reading as at now and keeps it, dropping the oldest
// when Keep are held.
func (s *Sampler) Sample(now time.Time) {
	r := s.read(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := (s.head + s.n) % len(s.ring)
	if s.n == len(s.ring) {
		s.head = (s.head + 1) % len(s.ring)
	} else {
		s.n++
	}
	s.ring[i] = r
}

func (s *Sampler) read(now time.Time) Reading {
	var r Reading
	if s.cfg.Read != nil {
		s.cfg.Read(&r)
	}
	r.Time = now
	return r
}

// readings returns the readings held, oldest first. The slice is new; the
// readings share their histograms' counts with the ring, which no one
// writes once a reading is kept.
func (s *Sampler) readings() []Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Reading, s.n)
	for i := range out {
		out[i] = s.ring[(s.head+i)%len(s.ring)]
	}
	return out
}

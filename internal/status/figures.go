package status

import (
	"math"
	"time"

	"nave/internal/metrics"
)

// ClassNames are the status classes, as the JSON keys them.
var classNames = [5]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// connNames are the connection states, indexed as servermetrics.Snapshot.Conns.
var connNames = [4]string{"reading", "handling", "idle", "parked"}

// Traffic is the server's figures now: totals since nave started, and
// rates and percentiles over the last WindowSeconds.
type Traffic struct {
	WindowSeconds     Num              `json:"window_seconds"`
	Requests          uint64           `json:"requests_total"`
	RequestsPerSecond Num              `json:"requests_per_second"`
	Status            map[string]Class `json:"status"`
	Latency           Percentiles      `json:"latency_seconds"`
	TTFB              Percentiles      `json:"ttfb_seconds"`
	BodyIn            Flow             `json:"request_body_bytes"`
	BodyOut           Flow             `json:"response_body_bytes"`
	Connections       map[string]int64 `json:"connections"`
	Accepted          uint64           `json:"connections_accepted_total"`
	Refused           uint64           `json:"connections_refused_total"`
}

// Class is the requests answered with one status class.
type Class struct {
	Total     uint64 `json:"total"`
	PerSecond Num    `json:"per_second"`
}

// Flow is bytes: the total and the rate.
type Flow struct {
	Total     uint64 `json:"total"`
	PerSecond Num    `json:"per_second"`
}

// Percentiles summarize a span's observations, in seconds; null when
// there were none.
type Percentiles struct {
	Count uint64 `json:"count"`
	Mean  Num    `json:"mean"`
	P50   Num    `json:"p50"`
	P90   Num    `json:"p90"`
	P99   Num    `json:"p99"`
}

// Summarize is the count, mean and percentiles of h's observations.
func Summarize(h metrics.HistogramSnapshot) Percentiles {
	n := h.Count()
	p := Percentiles{Count: n, Mean: None, P50: Num(h.Quantile(0.5)), P90: Num(h.Quantile(0.9)), P99: Num(h.Quantile(0.99))}
	if n > 0 {
		p.Mean = Num(h.Sum / float64(n))
	}
	return p
}

// AppNow is an app's figures now.
type AppNow struct {
	Busy   int `json:"workers_busy"`
	Idle   int `json:"workers_idle"`
	Queued int `json:"queued"`
	// QueueWait is over the window; nil where the app does not measure it.
	QueueWait *Percentiles `json:"queue_wait_seconds,omitempty"`
}

// Now reads the figures afresh and works out the rates and percentiles
// against the newest kept reading at least Window old (or the oldest, in
// nave's first seconds), with each app's figures by name.
func (s *Sampler) Now() (*Traffic, map[string]AppNow) {
	cur := s.read(time.Now())
	rs := s.readings()
	base := -1
	for i := len(rs) - 1; i >= 0; i-- {
		base = i
		if cur.Time.Sub(rs[i].Time) >= s.cfg.Window {
			break
		}
	}
	var prev *Reading
	if base >= 0 {
		prev = &rs[base]
	}
	return traffic(prev, &cur), appsNow(prev, &cur)
}

// traffic is cur's figures, with rates and percentiles since prev (none
// without it).
func traffic(prev, cur *Reading) *Traffic {
	c := &cur.Server
	t := &Traffic{
		WindowSeconds: None, RequestsPerSecond: None,
		Status:   map[string]Class{},
		BodyIn:   Flow{Total: c.BodyIn, PerSecond: None},
		BodyOut:  Flow{Total: c.BodyOut, PerSecond: None},
		Accepted: c.Accepted, Refused: c.Refused,
		Connections: map[string]int64{},
	}
	for i, n := range c.Requests {
		t.Requests += n
		t.Status[classNames[i]] = Class{Total: n, PerSecond: None}
	}
	for i, n := range c.Conns {
		t.Connections[connNames[i]] = n
	}
	if prev == nil || !cur.Time.After(prev.Time) {
		t.Latency, t.TTFB = Summarize(metrics.HistogramSnapshot{}), Summarize(metrics.HistogramSnapshot{})
		return t
	}
	p := &prev.Server
	dt := cur.Time.Sub(prev.Time).Seconds()
	t.WindowSeconds = Num(dt)
	var before uint64
	for i, n := range c.Requests {
		before += p.Requests[i]
		t.Status[classNames[i]] = Class{Total: n, PerSecond: rate(p.Requests[i], n, dt)}
	}
	t.RequestsPerSecond = rate(before, t.Requests, dt)
	t.BodyIn.PerSecond, t.BodyOut.PerSecond = rate(p.BodyIn, c.BodyIn, dt), rate(p.BodyOut, c.BodyOut, dt)
	t.Latency = Summarize(c.Duration.Sub(p.Duration))
	t.TTFB = Summarize(c.TTFB.Sub(p.TTFB))
	return t
}

// rate is the change from a to b over dt seconds; a count that went down
// (metrics turned off and on) counts from zero.
func rate(a, b uint64, dt float64) Num {
	if b < a {
		a = 0
	}
	return Num(float64(b-a) / dt)
}

func appsNow(prev, cur *Reading) map[string]AppNow {
	out := make(map[string]AppNow, len(cur.Apps))
	for _, a := range cur.Apps {
		n := AppNow{Busy: a.Busy, Idle: a.Idle, Queued: a.Queued}
		if len(a.QueueWait.Bounds) > 0 {
			w := a.QueueWait
			if prev != nil {
				if pa := prev.app(a.Name); pa != nil {
					w = w.Sub(pa.QueueWait)
				}
			}
			p := Summarize(w)
			n.QueueWait = &p
		}
		out[a.Name] = n
	}
	return out
}

// History is the kept readings as series for charts: point i is the
// interval that ends at Time[i], rates and percentiles over that interval,
// gauges as read at its end. A figure with no value (no requests in the
// interval, an app not running then) is null.
type History struct {
	IntervalSeconds   Num                    `json:"interval_seconds"`
	Time              []int64                `json:"time"` // Unix milliseconds
	RequestsPerSecond []Num                  `json:"requests_per_second"`
	Status            map[string][]Num       `json:"status_per_second"`
	Latency           SeriesPercentiles      `json:"latency_seconds"`
	Connections       map[string][]Num       `json:"connections"`
	Apps              map[string]*AppHistory `json:"apps"`
}

// SeriesPercentiles are percentiles per interval.
type SeriesPercentiles struct {
	P50 []Num `json:"p50"`
	P90 []Num `json:"p90"`
	P99 []Num `json:"p99"`
}

// AppHistory is an app's series.
type AppHistory struct {
	Busy      []Num             `json:"workers_busy"`
	Idle      []Num             `json:"workers_idle"`
	Queued    []Num             `json:"queued"`
	QueueWait SeriesPercentiles `json:"queue_wait_seconds"`
}

// History returns the series of the kept readings.
func (s *Sampler) History() *History {
	rs := s.readings()
	n := max(len(rs)-1, 0)
	h := &History{
		IntervalSeconds: Num(s.cfg.Interval.Seconds()), Time: make([]int64, n), RequestsPerSecond: make([]Num, n),
		Status: map[string][]Num{}, Latency: newSeriesPercentiles(n), Connections: map[string][]Num{},
		Apps: map[string]*AppHistory{},
	}
	for _, c := range classNames {
		h.Status[c] = make([]Num, n)
	}
	for _, c := range connNames {
		h.Connections[c] = make([]Num, n)
	}
	for i := range n {
		h.point(i, &rs[i], &rs[i+1], n)
	}
	return h
}

func newSeriesPercentiles(n int) SeriesPercentiles {
	return SeriesPercentiles{P50: nones(n), P90: nones(n), P99: nones(n)}
}

func nones(n int) []Num {
	s := make([]Num, n)
	for i := range s {
		s[i] = None
	}
	return s
}

func (p *SeriesPercentiles) set(i int, h metrics.HistogramSnapshot) {
	p.P50[i], p.P90[i], p.P99[i] = Num(h.Quantile(0.5)), Num(h.Quantile(0.9)), Num(h.Quantile(0.99))
}

// point fills in point i, the interval from prev to cur, of n.
func (h *History) point(i int, prev, cur *Reading, n int) {
	h.Time[i] = cur.Time.UnixMilli()
	dt := cur.Time.Sub(prev.Time).Seconds()
	c, p := &cur.Server, &prev.Server
	if dt <= 0 {
		dt = math.NaN()
	}
	var total, before uint64
	for k, name := range classNames {
		h.Status[name][i] = rate(p.Requests[k], c.Requests[k], dt)
		total += c.Requests[k]
		before += p.Requests[k]
	}
	h.RequestsPerSecond[i] = rate(before, total, dt)
	h.Latency.set(i, c.Duration.Sub(p.Duration))
	for k, name := range connNames {
		h.Connections[name][i] = Num(c.Conns[k])
	}
	for _, a := range cur.Apps {
		ah := h.Apps[a.Name]
		if ah == nil {
			ah = &AppHistory{Busy: nones(n), Idle: nones(n), Queued: nones(n), QueueWait: newSeriesPercentiles(n)}
			h.Apps[a.Name] = ah
		}
		ah.Busy[i], ah.Idle[i], ah.Queued[i] = Num(a.Busy), Num(a.Idle), Num(a.Queued)
		if pa := prev.app(a.Name); pa != nil && len(a.QueueWait.Bounds) > 0 {
			ah.QueueWait.set(i, a.QueueWait.Sub(pa.QueueWait))
		}
	}
}

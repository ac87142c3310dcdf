package servermetrics

import (
	"math"
	"time"

	"nave/internal/web"
)

// RequestStart reads the time a load balancer in front stamped a request
// with: X-Request-Start, else X-Queue-Start. The value is
// "t=<number>" (as New Relic's agents, HAProxy and nginx configs send it)
// or a bare number, the number an integer or a decimal fraction, in
// seconds, milliseconds, microseconds or nanoseconds since the Unix epoch,
// told apart by magnitude as New Relic's agents do: below 1e11 it is
// seconds (1e11 s is the year 5138), below 1e14 milliseconds, below 1e17
// microseconds, else nanoseconds. ok is false without either field, or
// for a value that is not such a number. It does not allocate.
func RequestStart(h *web.Header) (t time.Time, ok bool) {
	v := h.Get("X-Request-Start")
	if v == nil {
		v = h.Get("X-Queue-Start")
	}
	if v == nil {
		return time.Time{}, false
	}
	if len(v) > 2 && v[0] == 't' && v[1] == '=' {
		v = v[2:]
	}
	n, ok := parseDecimal(v)
	if !ok || n <= 0 {
		return time.Time{}, false
	}
	var ns float64
	switch {
	case n < 1e11:
		ns = n * 1e9
	case n < 1e14:
		ns = n * 1e6
	case n < 1e17:
		ns = n * 1e3
	default:
		ns = n
	}
	if ns >= math.MaxInt64 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(ns)), true
}

// parseDecimal parses digits with an optional fraction, as 1700000000 or
// 1700000000.123; at most 30 bytes.
func parseDecimal(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 30 {
		return 0, false
	}
	var n, scale float64 = 0, 0
	digits := 0
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			n = n*10 + float64(c-'0')
			if scale > 0 {
				scale *= 10
			}
			digits++
		case c == '.' && scale == 0:
			scale = 1
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	if scale > 1 {
		n /= scale
	}
	return n, true
}

// maxLBQueue bounds a queue time believed: a stamp further back is a
// misconfigured clock or unit, not a queue, and is not counted.
const maxLBQueue = time.Hour

// lbQueue observes the time from the load balancer's stamp to the
// request's arrival; a stamp after the arrival (clocks a little apart)
// counts as no wait.
func (m *Requests) lbQueue(h *web.Header, arrival time.Time) {
	t, ok := RequestStart(h)
	if !ok {
		return
	}
	d := arrival.Sub(t)
	switch {
	case d < -maxLBQueue || d > maxLBQueue:
		return
	case d < 0:
		d = 0
	}
	m.lbWait.ObserveDuration(d)
}

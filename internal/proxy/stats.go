package proxy

// Figures: each server's state, its requests in flight, its
// time to first byte and its failures by kind, for the metrics
// exposition and the status page.

import (
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"time"

	"nave/internal/metrics"
)

// FailKind is how a try at a server failed, as failures are counted.
type FailKind uint8

// The kinds, of failures that count against a server's health (a
// client's failure, or a pooled connection found closed, counts none).
const (
	FailConnect     FailKind = iota // no connection: refused, unreachable, timed out dialing
	FailTimeout                     // no answer (or the rest of it) within the timeouts
	FailReset                       // the connection closed or reset mid-exchange
	FailBadResponse                 // an answer that is not HTTP/1.1 as nave reads it
	NumFailKinds
)

var failNames = [NumFailKinds]string{"connect", "timeout", "reset", "bad_response"}

func (k FailKind) String() string { return failNames[k] }

// failKind classifies a try's error.
func failKind(err error) FailKind {
	switch {
	case errors.Is(err, errDial):
		return FailConnect
	case failStatus(err) == 504:
		return FailTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrClosed):
		return FailReset
	}
	return FailBadResponse
}

// serverMeter is a server's figures beside its state in server.
type serverMeter struct {
	ttfb     *metrics.Histogram // from the request sent (its body too) to the final response head
	failures [NumFailKinds]metrics.Counter
}

func newServerMeter() serverMeter { return serverMeter{ttfb: metrics.NewHistogram(nil)} }

// ServerStats is one upstream server's figures.
type ServerStats struct {
	Addr     string
	Up       bool  // takes requests: its health check passes and it is not marked down for failures
	InFlight int64 // requests it is serving
	// TTFB is the time from the request sent to the response head (HAProxy's
	// Tr, nginx's $upstream_header_time) of every answered try.
	TTFB     metrics.HistogramSnapshot
	Failures [NumFailKinds]uint64 // by FailKind
}

// Stats is each server's figures now, in the config's order.
func (h *Handler) Stats() []ServerStats {
	now := time.Now().UnixNano()
	out := make([]ServerStats, len(h.servers))
	for i, s := range h.servers {
		out[i] = ServerStats{Addr: s.addr, Up: s.available(now), InFlight: s.inflight.Load(), TTFB: s.meter.ttfb.Snapshot()}
		for k := range out[i].Failures {
			out[i].Failures[k] = s.meter.failures[k].Value()
		}
	}
	return out
}

// Exposition is the per-upstream metric families, registered once in a
// registry; Add exposes a Handler's servers under its upstream's name.
// Labels: upstream (the config's name) and server (the configured
// address), both bounded by the config. docs/observability.md lists them.
type Exposition struct {
	up       *metrics.FuncVec
	inFlight *metrics.FuncVec
	ttfb     *metrics.HistogramVec
	failures *metrics.FuncVec
	exposed  map[string][]string // upstream → the server addresses exposed; guarded by the caller (one apply at a time)
}

// NewExposition registers the per-upstream families in reg. Call it once
// per registry.
func NewExposition(reg *metrics.Registry) *Exposition {
	return &Exposition{
		up:       reg.GaugeFuncVec("nave_upstream_up", "1 while the upstream server takes requests (its health check passes and it is not marked down after failures), else 0.", "upstream", "server"),
		inFlight: reg.GaugeFuncVec("nave_upstream_requests_in_flight", "Requests the upstream server is serving.", "upstream", "server"),
		ttfb:     reg.HistogramVec("nave_upstream_time_to_first_byte_seconds", "From the request sent to the upstream server to its response head (HAProxy's Tr, nginx's $upstream_header_time), for every try answered.", nil, "upstream", "server"),
		failures: reg.CounterFuncVec("nave_upstream_failures_total", "Tries at the upstream server that failed, by kind: connect (no connection), timeout (no answer in time), reset (the connection closed mid-exchange), bad_response (not HTTP/1.1 as nave reads it). Each counts against the server's passive health.", "upstream", "server", "kind"),
		exposed:  map[string][]string{},
	}
}

// Add exposes h's servers as upstream's, replacing the Handler exposed
// under that name before; servers it no longer has leave the exposition.
// A new Handler (a reload changed the upstream) starts its counts anew,
// which rate() reads as a counter reset.
func (e *Exposition) Add(upstream string, h *Handler) {
	var addrs []string
	for _, s := range h.servers {
		addrs = append(addrs, s.addr)
		e.up.Set(func() float64 {
			if s.available(time.Now().UnixNano()) {
				return 1
			}
			return 0
		}, upstream, s.addr)
		e.inFlight.Set(func() float64 { return float64(s.inflight.Load()) }, upstream, s.addr)
		e.ttfb.Set(s.meter.ttfb, upstream, s.addr)
		for k := range NumFailKinds {
			e.failures.Set(func() float64 { return float64(s.meter.failures[k].Value()) }, upstream, s.addr, k.String())
		}
	}
	for _, old := range e.exposed[upstream] {
		if !slices.Contains(addrs, old) {
			e.drop(upstream, old)
		}
	}
	e.exposed[upstream] = addrs
}

// Remove drops an upstream's series: one a reload removed.
func (e *Exposition) Remove(upstream string) {
	for _, addr := range e.exposed[upstream] {
		e.drop(upstream, addr)
	}
	delete(e.exposed, upstream)
}

// Upstreams are the names exposed.
func (e *Exposition) Upstreams() []string {
	var names []string
	for n := range e.exposed {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (e *Exposition) drop(upstream, addr string) {
	e.up.Delete(upstream, addr)
	e.inFlight.Delete(upstream, addr)
	e.ttfb.Delete(upstream, addr)
	for k := range NumFailKinds {
		e.failures.Delete(upstream, addr, k.String())
	}
}

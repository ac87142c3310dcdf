// Package servermetrics is nave's server metric set: the
// handles internal/server and internal/http2 update as requests and
// connections come and go, registered once in an internal/metrics
// Registry. docs/observability.md lists every metric with its meaning.
//
// A protocol server holds a *Set; nil means metrics are off, and every
// method of a nil *Set (and *Requests) returns at once, so that off costs
// one nil check. On, an update is an array index and an atomic operation:
// no map, no string, no lock, no allocation.
//
// Labels are bounded: method (eight values), status class, connection
// state, TLS result and version, HTTP/2 error code. Per-site and per-route
// labels come with the route table: a Requests is the per-request part of
// the set, resolved from its families by label values at configuration
// time, so a route can be given one of its own (NewRequests with a route
// label added to requestFamilies) without changing the hot path.
//
// It imports metrics and web, and no other nave package: server and
// http2 import it.
package servermetrics

import (
	"crypto/tls"
	"sync/atomic"
	"time"

	"nave/internal/metrics"
	"nave/internal/web"
)

// Set is the server-wide metric set. Build it with New; a nil *Set is off.
type Set struct {
	// Requests is the per-request part, for the whole server.
	Requests *Requests

	// conns counts connections: [ConnReading], [ConnHandling] and
	// [ConnParked] those in that state, [ConnIdle] every open one. Idle is
	// what the others leave, worked out at scrape time, so that the
	// commonest moves (idle to handling and back) are one atomic add each.
	conns    [numStates]cell
	accepted *metrics.Counter
	refused  *metrics.Counter

	tlsOK     [numTLSVersions]*metrics.Counter
	tlsFailed *metrics.Counter

	h2Streams *metrics.Counter
	h2Resets  [numH2Codes]*metrics.Counter
	h2GoAways [numH2Codes]*metrics.Counter
}

// New registers nave's server metrics in reg, with the Go runtime's and
// the process's figures, and returns their handles. Call it once per
// registry: registering twice panics.
func New(reg *metrics.Registry) *Set {
	s := &Set{Requests: newRequests(reg)}
	conns := reg.GaugeFuncVec("nave_connections", "Open client connections, by state: reading (a request head or TLS handshake begun, the rest awaited), handling (a request read, its response under way), idle (waiting for a request), parked (idle, without a goroutine).", "state")
	for _, st := range []ConnState{ConnReading, ConnHandling, ConnParked} {
		conns.Set(func() float64 { return float64(s.conns[st].n.Load()) }, stateNames[st])
	}
	conns.Set(s.idle, stateNames[ConnIdle])
	s.accepted = reg.Counter("nave_connections_accepted_total", "Client connections accepted.")
	s.refused = reg.Counter("nave_connections_refused_total", "Client connections nave could not take or closed unserved: failed accepts (such as out of file descriptors) and connections arriving during shutdown.")
	hs := reg.CounterVec("nave_tls_handshakes_total", "TLS handshakes, by result (ok, failed) and negotiated version (unknown for failures).", "result", "version")
	for i := range s.tlsOK {
		s.tlsOK[i] = hs.With("ok", tlsVersionNames[i])
	}
	s.tlsFailed = hs.With("failed", "unknown")
	s.h2Streams = reg.Counter("nave_http2_streams_total", "HTTP/2 streams opened by clients and accepted (a request each).")
	resets := reg.CounterVec("nave_http2_resets_sent_total", "RST_STREAM frames nave sent, by error code.", "code")
	goaways := reg.CounterVec("nave_http2_goaways_sent_total", "GOAWAY frames nave sent, by error code.", "code")
	for i := range s.h2Resets {
		s.h2Resets[i] = resets.With(H2CodeNames[i])
		s.h2GoAways[i] = goaways.With(H2CodeNames[i])
	}
	reg.RegisterGo()
	reg.RegisterProcess()
	return s
}

// ConnState is a connection's state as nave_connections counts it.
type ConnState uint8

// The states. A request whose head arrives with the first read goes from
// idle straight to handling; reading is a head (or TLS handshake) begun
// and waited on, which is where slow and slowloris clients sit. ConnNone
// is a connection not counted (not yet, or no longer, or counted by
// another owner: an HTTP/1 connection that became HTTP/2 is counted by its
// HTTP/2 side).
const (
	ConnReading ConnState = iota
	ConnHandling
	ConnIdle
	ConnParked
	numStates
	ConnNone ConnState = 255
)

var stateNames = [numStates]string{"reading", "handling", "idle", "parked"}

// cell is an atomic count on a cache line of its own: connections move
// between states on every core.
type cell struct {
	n atomic.Int64
	_ [56]byte
}

// Move moves one connection from state from to state to: from ConnNone
// when it opens, to ConnNone when it closes.
func (s *Set) Move(from, to ConnState) {
	if s == nil || from == to {
		return
	}
	switch from {
	case ConnIdle:
	case ConnNone:
		s.conns[ConnIdle].n.Add(1) // opened
	default:
		s.conns[from].n.Add(-1)
	}
	switch to {
	case ConnIdle:
	case ConnNone:
		s.conns[ConnIdle].n.Add(-1) // closed
	default:
		s.conns[to].n.Add(1)
	}
}

// idle is the idle connections: the open ones in no other state. The
// counts are read one by one while connections move, so the difference
// may be off by a move in flight; never below zero.
func (s *Set) idle() float64 {
	c := &s.conns
	n := c[ConnIdle].n.Load() - c[ConnReading].n.Load() - c[ConnHandling].n.Load() - c[ConnParked].n.Load()
	return float64(max(n, 0))
}

// Accepted counts a connection accepted.
func (s *Set) Accepted() {
	if s != nil {
		s.accepted.Inc()
	}
}

// Refused counts a connection nave could not take or closed unserved.
func (s *Set) Refused() {
	if s != nil {
		s.refused.Inc()
	}
}

const numTLSVersions = 5

var tlsVersionNames = [numTLSVersions]string{"1.0", "1.1", "1.2", "1.3", "unknown"}

// Handshake counts a TLS handshake: failed, or done with version v
// (tls.VersionTLS13 and so on).
func (s *Set) Handshake(ok bool, v uint16) {
	if s == nil {
		return
	}
	if !ok {
		s.tlsFailed.Inc()
		return
	}
	i := numTLSVersions - 1
	switch v {
	case tls.VersionTLS10:
		i = 0
	case tls.VersionTLS11:
		i = 1
	case tls.VersionTLS12:
		i = 2
	case tls.VersionTLS13:
		i = 3
	}
	s.tlsOK[i].Inc()
}

// H2CodeNames are the HTTP/2 error codes' names (RFC 9113 §7), indexed
// by code, and last the label for a code beyond them. They are
// http2.ErrCode's names; http2's tests hold the two lists together.
var H2CodeNames = [...]string{
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
	"CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
	"INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED", "UNKNOWN_ERROR",
}

const numH2Codes = len(H2CodeNames)

func h2Code(code uint32) int { return int(min(code, uint32(numH2Codes-1))) }

// H2Stream counts an HTTP/2 stream accepted.
func (s *Set) H2Stream() {
	if s != nil {
		s.h2Streams.Inc()
	}
}

// H2Reset counts a RST_STREAM nave sent with code.
func (s *Set) H2Reset(code uint32) {
	if s != nil {
		s.h2Resets[h2Code(code)].Inc()
	}
}

// H2GoAway counts a GOAWAY nave sent with code.
func (s *Set) H2GoAway(code uint32) {
	if s != nil {
		s.h2GoAways[h2Code(code)].Inc()
	}
}

// Requests is the per-request part of the metric set: one server-wide
// now, one per route once routes have labels.
type Requests struct {
	count    [numMethods][numClasses]*metrics.Counter
	duration *metrics.Histogram
	ttfb     *metrics.Histogram
	bodyIn   *metrics.Counter
	bodyOut  *metrics.Counter
	lbWait   *metrics.Histogram
}

func newRequests(reg *metrics.Registry) *Requests {
	count := reg.CounterVec("nave_http_requests_total", "Requests answered, by method (GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, other) and status class (1xx to 5xx).", "method", "code")
	m := &Requests{
		duration: reg.Histogram("nave_http_request_duration_seconds", "From a request's first byte to the end of its response.", nil),
		ttfb:     reg.Histogram("nave_http_time_to_first_byte_seconds", "From a request's first byte to the first byte of its response (an interim 100 Continue counts).", nil),
		bodyIn:   reg.Counter("nave_http_request_body_bytes_total", "Request body bytes received: read by the handler or drained by nave on HTTP/1.1, every DATA byte of an open stream on HTTP/2."),
		bodyOut:  reg.Counter("nave_http_response_body_bytes_total", "Response body bytes sent (heads and framing not included)."),
		lbWait:   reg.Histogram("nave_lb_queue_seconds", "From the time a trusted load balancer in front stamped a request with (X-Request-Start or X-Queue-Start) to its arrival at nave: the wait in and after the load balancer. Only requests from a listener's trusted_proxies, with a stamp, are counted.", nil),
	}
	for i := range m.count {
		for c := range m.count[i] {
			m.count[i][c] = count.With(methodNames[i], classNames[c])
		}
	}
	return m
}

// The methods counted by name; the rest are "other", so that a client
// cannot make a series of its own.
const (
	methodGET = iota
	methodHEAD
	methodPOST
	methodPUT
	methodDELETE
	methodPATCH
	methodOPTIONS
	methodOther
	numMethods
)

var methodNames = [numMethods]string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"}

const numClasses = 5

// classNames are the status classes' label values, 1xx to 5xx.
var classNames = [numClasses]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// methodIndex maps a request method to its label's index without a
// lookup: methods are case-sensitive (RFC 9110 §9.1).
func methodIndex(m []byte) int {
	switch string(m) {
	case "GET":
		return methodGET
	case "HEAD":
		return methodHEAD
	case "POST":
		return methodPOST
	case "PUT":
		return methodPUT
	case "DELETE":
		return methodDELETE
	case "PATCH":
		return methodPATCH
	case "OPTIONS":
		return methodOPTIONS
	}
	return methodOther
}

// Exchange is one finished request as the protocol saw it.
type Exchange struct {
	Method []byte
	Status int       // the final status; one outside 100–599 counts as 5xx
	Start  time.Time // the request's first byte, with a monotonic reading
	Head   time.Time // the response's first byte; zero if none was sent
	// Duration is from Start to the response's end: time.Since(Start),
	// which reads only the monotonic clock, half the cost of time.Now.
	Duration time.Duration
	BodyIn   int64 // request body bytes read, unless counted by BodyRead
	BodyOut  int64 // response body bytes sent
	// Header is the request's; when the connection came from one of the
	// listener's trusted proxies (TrustedPeer), its X-Request-Start or
	// X-Queue-Start is the load balancer's queue time.
	Header      *web.Header
	TrustedPeer bool
}

// BodyRead counts request body bytes as they arrive, for a protocol
// that sees them apart from the exchange (HTTP/2's DATA frames).
func (m *Requests) BodyRead(n int64) {
	if m != nil && n > 0 {
		m.bodyIn.Add(uint64(n))
	}
}

// Done records a finished exchange.
func (m *Requests) Done(x *Exchange) {
	if m == nil {
		return
	}
	c := x.Status/100 - 1
	if c < 0 || c >= numClasses {
		c = numClasses - 1
	}
	m.count[methodIndex(x.Method)][c].Inc()
	m.duration.ObserveDuration(x.Duration)
	if !x.Head.IsZero() {
		m.ttfb.ObserveDuration(x.Head.Sub(x.Start))
	}
	if x.BodyIn > 0 {
		m.bodyIn.Add(uint64(x.BodyIn))
	}
	if x.BodyOut > 0 {
		m.bodyOut.Add(uint64(x.BodyOut))
	}
	if x.TrustedPeer && x.Header != nil {
		m.lbQueue(x.Header, x.Start)
	}
}

// Snapshot is the set's figures at one instant, for a reader in Go (the
// status page): counts since the set was made, and the connections now.
type Snapshot struct {
	// Requests is the requests answered, by status class: [0] 1xx to [4] 5xx.
	Requests       [numClasses]uint64
	Duration, TTFB metrics.HistogramSnapshot
	BodyIn         uint64
	BodyOut        uint64
	// Conns is the open connections by state: [ConnReading], [ConnHandling],
	// [ConnIdle], [ConnParked].
	Conns             [numStates]int64
	Accepted, Refused uint64
}

// Snapshot reads the figures into dst. A
// nil *Set leaves dst zero.
func (s *Set) Snapshot(dst *Snapshot) {
	if s == nil {
		*dst = Snapshot{}
		return
	}
	m := s.Requests
	dst.Requests = [numClasses]uint64{}
	for i := range m.count {
		for c := range m.count[i] {
			dst.Requests[c] += m.count[i][c].Value()
		}
	}
	dst.Duration = m.duration.Snapshot()
	dst.TTFB = m.ttfb.Snapshot()
	dst.BodyIn, dst.BodyOut = m.bodyIn.Value(), m.bodyOut.Value()
	for st := range dst.Conns {
		dst.Conns[st] = s.conns[st].n.Load()
	}
	dst.Conns[ConnIdle] = int64(s.idle())
	dst.Accepted, dst.Refused = s.accepted.Value(), s.refused.Value()
}

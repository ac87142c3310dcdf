package proxy

import (
	"log/slog"
	"time"
)

// Config is one upstream: its servers and how they are used. Its zero
// value (with Servers) works; each zero field means its Default constant.
type Config struct {
	Servers []Server
	Balance Balance
	// HashKey is what Balance Hash hashes: "" or "client" for the client's
	// address, "header:NAME" for a request field, "cookie:NAME" for a cookie.
	HashKey string
	// Host is the Host sent upstream; "" passes the client's.
	Host string
	// StripPrefix drops the route's mount prefix from the path sent
	// upstream (/api/users under /api goes as /users).
	StripPrefix bool

	ConnectTimeout time.Duration // dialing a server
	HeaderTimeout  time.Duration // from the request sent to the response head ("first byte")
	ReadTimeout    time.Duration // between two reads of the response body
	WriteTimeout   time.Duration // for each write to the server
	TunnelIdle     time.Duration // an upgraded connection with no byte either way is closed
	IdleTimeout    time.Duration // a pooled idle connection is closed
	MaxIdle        int           // idle connections kept per server; Off for none

	Retries      int           // further tries after the first, where safe; Off for none
	RetryTimeout time.Duration // no new try once this long has passed since the first

	MaxFails    int           // failures within FailTimeout that take a server out; Off: never
	FailTimeout time.Duration // the window for MaxFails, and how long a server stays out
	SlowStart   time.Duration // a server coming back gets its full share over this long; Off: at once

	Health Health

	// ProxyProtocol is 1 or 2 to open every upstream connection with a
	// PROXY protocol header of that version naming the client; such
	// connections carry one client's requests only. 0: none.
	ProxyProtocol int

	// H2C speaks HTTP/2 with prior knowledge (RFC 9113 §3.3) to the
	// servers, many requests on each connection; upgrades (WebSockets)
	// and health checks still go over HTTP/1.1, which h2c servers speak
	// on the same port.
	H2C bool

	Logger *slog.Logger
}

// Server is one upstream server.
type Server struct {
	Addr   string // host:port
	Weight int    // its share; 0 means 1
}

// Health configures active checks; an empty Path turns them off.
type Health struct {
	Path     string
	Interval time.Duration
	Timeout  time.Duration
	Status   int // the status a healthy server answers; 0: any 2xx or 3xx
	Rise     int // consecutive passes that bring a server back
	Fall     int // consecutive failures that take it out
}

// Balance is how a server is chosen for a request.
type Balance uint8

// The balancing methods.
const (
	RoundRobin Balance = iota // weighted, smooth
	LeastConn                 // fewest requests in flight per weight
	Random2                   // the less busy of two chosen at random by weight
	Hash                      // consistent hashing on HashKey
)

// Off in an int or duration field turns the feature off.
const Off = -1

// Defaults for Config.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultHeaderTimeout  = 60 * time.Second
	DefaultReadTimeout    = 60 * time.Second
	DefaultWriteTimeout   = 60 * time.Second
	DefaultTunnelIdle     = 10 * time.Minute
	DefaultIdleTimeout    = 60 * time.Second
	DefaultMaxIdle        = 64
	DefaultRetries        = 2
	DefaultRetryTimeout   = 10 * time.Second
	DefaultMaxFails       = 3
	DefaultFailTimeout    = 10 * time.Second
	DefaultSlowStart      = 10 * time.Second

	DefaultHealthInterval = 5 * time.Second
	DefaultHealthTimeout  = 2 * time.Second
	DefaultHealthRise     = 2
	DefaultHealthFall     = 3
)

// settings is a Config with its defaults resolved.
type settings struct {
	connect, header, read, write, tunnel, idle time.Duration
	maxIdle, retries, maxFails                 int
	retryTimeout, failTimeout, slowStart       time.Duration
	health                                     Health
}

func (c *Config) resolve() settings {
	s := settings{
		connect: orDefault(c.ConnectTimeout, DefaultConnectTimeout), header: orDefault(c.HeaderTimeout, DefaultHeaderTimeout),
		read: orDefault(c.ReadTimeout, DefaultReadTimeout), write: orDefault(c.WriteTimeout, DefaultWriteTimeout),
		tunnel: orDefault(c.TunnelIdle, DefaultTunnelIdle), idle: orDefault(c.IdleTimeout, DefaultIdleTimeout),
		maxIdle: orDefault(c.MaxIdle, DefaultMaxIdle), retries: orDefault(c.Retries, DefaultRetries),
		maxFails: orDefault(c.MaxFails, DefaultMaxFails), retryTimeout: orDefault(c.RetryTimeout, DefaultRetryTimeout),
		failTimeout: orDefault(c.FailTimeout, DefaultFailTimeout), slowStart: orDefault(c.SlowStart, DefaultSlowStart),
		health: c.Health,
	}
	h := &s.health
	h.Interval = orDefault(h.Interval, DefaultHealthInterval)
	h.Timeout = orDefault(h.Timeout, DefaultHealthTimeout)
	h.Rise = orDefault(h.Rise, DefaultHealthRise)
	h.Fall = orDefault(h.Fall, DefaultHealthFall)
	return s
}

// orDefault resolves a field: 0 is the default, Off is 0 (none).
func orDefault[T int | time.Duration](v, def T) T {
	switch {
	case v == Off:
		return 0
	case v <= 0:
		return def
	}
	return v
}

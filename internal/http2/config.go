package http2

import (
	"log/slog"
	"time"

	"nave/internal/servermetrics"
	"nave/internal/web"
	"nave/internal/wiretrace"
)

// Defaults for Config. The peers' choices, for comparison: nginx allows
// 128 concurrent streams and h2o 100; both keep the 16 KiB frame size.
const (
	DefaultMaxConcurrentStreams = 128
	DefaultMaxHeaderListSize    = 64 << 10 // decoded, with RFC 9113's 32 bytes per field
	DefaultMaxFrameSize         = minMaxFrameSize
	DefaultStreamWindow         = 256 << 10 // bytes a request body may send ahead of its handler
	DefaultConnWindow           = 1 << 20   // the same, for all of a connection's streams together
	DefaultIdleTimeout          = 75 * time.Second
	DefaultWriteTimeout         = 60 * time.Second
	DefaultBodyTimeout          = 60 * time.Second
	DefaultHeadTimeout          = 30 * time.Second
	DefaultSettingsTimeout      = 10 * time.Second
	// DefaultFloodRate is how many control frames (PING, SETTINGS,
	// WINDOW_UPDATE, PRIORITY, RST_STREAM, empty DATA) and streams reset
	// by either side a connection may cause per second, on average, with
	// a burst of as many again, before it is cut off with
	// ENHANCE_YOUR_CALM.
	DefaultFloodRate = 1000
)

// Config configures the HTTP/2 connections of a server. Its zero value
// works: every zero limit or timeout means its default.
type Config struct {
	Handler web.Handler
	Logger  *slog.Logger // nil discards
	// AccessLog, when set, is called after each stream's response.
	AccessLog func(r *web.Request, w *web.ResponseWriter)
	// Metrics, when set, counts streams, resets and GOAWAYs sent,
	// requests, and the connections' states; nil is off.
	Metrics *servermetrics.Set
	// Trace, when set, is given every frame that crosses the wire, with
	// the decoded fields of header blocks (--trace); nil is off and costs
	// a nil check per read and per write.
	Trace *wiretrace.Tracer

	MaxConcurrentStreams uint32        // streams with a handler running, per connection
	MaxHeaderListSize    uint32        // a request's header section, decoded (RFC 9113 §6.5.2)
	MaxFrameSize         uint32        // the largest frame nave accepts, 16 KiB to 16 MiB
	StreamWindow         uint32        // initial flow-control window of each stream, bytes
	ConnWindow           uint32        // flow-control window of the connection, bytes
	IdleTimeout          time.Duration // a connection with no stream open
	WriteTimeout         time.Duration // a stream waiting to send (window, slow reader)
	BodyTimeout          time.Duration // a handler waiting for request body bytes
	HeadTimeout          time.Duration // a header block begun and not finished
	SettingsTimeout      time.Duration // the peer acknowledging nave's SETTINGS
	FloodRate            uint32        // see DefaultFloodRate
}

func or[T uint32 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// settings is a Config with every default resolved.
type settings struct {
	maxStreams, maxHeaderList, maxFrame, streamWindow, connWindow uint32
	idle, write, body, head, settingsAck                          time.Duration
	floodRate                                                     uint32
}

func (c *Config) resolve() settings {
	return settings{
		maxStreams:    or(c.MaxConcurrentStreams, DefaultMaxConcurrentStreams),
		maxHeaderList: or(c.MaxHeaderListSize, DefaultMaxHeaderListSize),
		maxFrame:      min(max(or(c.MaxFrameSize, DefaultMaxFrameSize), minMaxFrameSize), maxMaxFrameSize),
		streamWindow:  min(or(c.StreamWindow, DefaultStreamWindow), maxWindow),
		connWindow:    min(max(or(c.ConnWindow, DefaultConnWindow), defaultWindow), maxWindow),
		idle:          or(c.IdleTimeout, DefaultIdleTimeout),
		write:         or(c.WriteTimeout, DefaultWriteTimeout),
		body:          or(c.BodyTimeout, DefaultBodyTimeout),
		head:          or(c.HeadTimeout, DefaultHeadTimeout),
		settingsAck:   or(c.SettingsTimeout, DefaultSettingsTimeout),
		floodRate:     or(c.FloodRate, DefaultFloodRate),
	}
}

package cli

import (
	"flag"
	"strings"
	"time"

	"nave/internal/config"
	"nave/internal/http2"
	"nave/internal/server"
)

// h2Flags are the HTTP/2 flags every serving command shares.
type h2Flags struct {
	on, h2c         bool
	streams         int64
	headerList      int64
	frame           int64
	streamWindow    int64
	connWindow      int64
	floodRate       int64
	settingsTimeout time.Duration
}

func (f *h2Flags) register(fs *flag.FlagSet) {
	f.streams = http2.DefaultMaxConcurrentStreams
	f.headerList = http2.DefaultMaxHeaderListSize
	f.frame = http2.DefaultMaxFrameSize
	f.streamWindow = http2.DefaultStreamWindow
	f.connWindow = http2.DefaultConnWindow
	f.floodRate = http2.DefaultFloodRate
	fs.BoolVar(&f.on, "http2", true, "")
	fs.BoolVar(&f.h2c, "h2c", true, "")
	fs.Int64Var(&f.streams, "h2-max-streams", f.streams, "")
	fs.Var(sizeValue{&f.headerList}, "h2-max-header-list", "")
	fs.Var(sizeValue{&f.frame}, "h2-max-frame", "")
	fs.Var(sizeValue{&f.streamWindow}, "h2-stream-window", "")
	fs.Var(sizeValue{&f.connWindow}, "h2-conn-window", "")
	fs.Int64Var(&f.floodRate, "h2-flood-rate", f.floodRate, "")
	fs.DurationVar(&f.settingsTimeout, "h2-settings-timeout", http2.DefaultSettingsTimeout, "")
}

// check validates the values and applies them to cfg.
func (f *h2Flags) check(cfg *server.Config) error {
	h := config.HTTP2{MaxStreams: f.streams, MaxHeaderList: config.Size(f.headerList), MaxFrame: config.Size(f.frame),
		StreamWindow: config.Size(f.streamWindow), ConnWindow: config.Size(f.connWindow), FloodRate: f.floodRate}
	for _, b := range h.Bounds() {
		if b.N < b.Min || b.N > b.Max {
			return usagef("--h2-%s must be from %s to %s, got %s", strings.ReplaceAll(b.Key, "_", "-"), formatSize(b.Min), formatSize(b.Max), formatSize(b.N))
		}
	}
	if f.settingsTimeout <= 0 {
		return usagef("--h2-settings-timeout must be positive, got %v", f.settingsTimeout)
	}
	cfg.DisableH2C = !f.on || !f.h2c
	cfg.HTTP2 = http2.Config{
		MaxConcurrentStreams: uint32(f.streams),
		MaxHeaderListSize:    uint32(f.headerList),
		MaxFrameSize:         uint32(f.frame),
		StreamWindow:         uint32(f.streamWindow),
		ConnWindow:           uint32(f.connWindow),
		FloodRate:            uint32(f.floodRate),
		SettingsTimeout:      f.settingsTimeout,
	}
	return nil
}

const h2FlagsUsage = `HTTP/2 (RFC 9113; docs/http2.md):
  --http2=false          serve HTTP/1.1 only: no h2 by ALPN, no h2c
  --h2c=false            no HTTP/2 in the clear (prior knowledge) on a plain listener
  --h2-max-streams N     concurrent streams per connection (default 128)
  --h2-max-header-list SIZE
                         largest request header section, decoded (default 64k)
  --h2-max-frame SIZE    largest frame nave accepts, 16k to 16m (default 16k)
  --h2-stream-window SIZE, --h2-conn-window SIZE
                         request body bytes a client may send ahead of the app,
                         per stream and per connection (defaults 256k, 1m)
  --h2-flood-rate N      control frames and resets a client may cause per second
                         before it is cut off (default 1000)
  --h2-settings-timeout D
                         for the client to acknowledge nave's SETTINGS (default 10s)
`

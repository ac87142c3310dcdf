package asgi

import (
	"io"
	"log/slog"
	"slices"
	"time"

	"nave/internal/web"
	"nave/internal/websocket"
	"nave/internal/workers"
)

// Defaults for Config.
const (
	DefaultPython       = "python3"
	DefaultStartTimeout = 30 * time.Second
	DefaultTimeout      = 30 * time.Second // as gunicorn's and nave wsgi's
	DefaultBacklog      = workers.DefaultBacklog
	// DefaultLimitConcurrency bounds the requests in one worker's app when
	// Config.LimitConcurrency is 0: high enough not to be met by a
	// worker that keeps up, a guard against one that does not.
	DefaultLimitConcurrency = 1000
)

// Config configures a Handler. Its zero value needs only App.
type Config struct {
	// App is "module:callable", imported in Dir; "module:factory()"
	// calls factory for the app.
	App          string
	Python       string   // the interpreter; "" is DefaultPython
	Dir          string   // the worker's folder; "" is nave's
	Env          []string // added to nave's environment for the worker
	StartTimeout time.Duration
	// MaxBody bounds a request body: a Content-Length past it gets 413
	// before the app runs; a chunked body past it is cut off (the app
	// hears http.disconnect; the client gets 413 if the response has not
	// begun). 0: no bound (bodies stream, so memory does not need one).
	MaxBody int64
	// Lifespan is "auto" (""), "on" or "off", as uvicorn's --lifespan:
	// auto runs the lifespan protocol and goes on without it if the app
	// raises before startup completes; on makes that an error.
	Lifespan string
	// Loop is "auto" (""), "asyncio" or "uvloop": auto is uvloop when
	// the interpreter can import it.
	Loop string
	// Native is NativeAuto (""), NativeOn or NativeOff: whether the
	// workers run native.c, built for the interpreter in CacheDir.
	Native string
	// CacheDir holds the native builds; "" is the user's cache folder
	// (nativeCacheRoot).
	CacheDir string
	// LimitConcurrency bounds the requests in the app at once in a
	// worker; the rest wait in nave, up to Backlog. 0 means
	// DefaultLimitConcurrency.
	LimitConcurrency int
	Workers          int // worker processes; 0 means one per CPU
	// Timeout bounds a request's wait for a worker (503) and how long a
	// worker holding requests may send nothing, not even its heartbeat
	// (its loop is blocked): it is then stuck, its requests get 504, its
	// stack is logged, and it is replaced. 0 means DefaultTimeout;
	// negative, no limit.
	Timeout time.Duration
	// MaxRequests recycles a worker after that many requests, plus a
	// random jitter of up to an eighth. 0: never.
	MaxRequests int
	Backlog     int // requests that may wait for a worker; 0 means DefaultBacklog
	// WSMaxMessage bounds a WebSocket message from a client, as
	// reassembled and decompressed: a larger one closes the socket with
	// 1009. 0: websocket.DefaultMaxMessage (16 MiB).
	WSMaxMessage int64
	// WSPingInterval: a WebSocket silent this long is pinged, and closed
	// with 1011 when nothing arrives within as long again. 0: no pings.
	WSPingInterval time.Duration
	Logger         *slog.Logger
	// Meter counts the app's figures (workers by state, queue wait,
	// restarts), with those of the app's other handlers; nil: one of the
	// handler's own. Stats reads them.
	Meter *workers.Meter
	// Experiment switches the prototype's measured ideas off, to
	// measure what each buys. The zero value is the fast path.
	Experiment Experiment
}

// Experiment holds the prototype's switches; see doc.go for what each
// measured.
type Experiment struct {
	NoBatch bool // write each REQUEST from its handler at once, not in the writer's batches
	NoYield bool // the writer does not yield before taking a batch
}

func (c *Config) python() string {
	if c.Python != "" {
		return c.Python
	}
	return DefaultPython
}

func (c *Config) startTimeout() time.Duration {
	if c.StartTimeout > 0 {
		return c.StartTimeout
	}
	return DefaultStartTimeout
}

func (c *Config) lifespan() string {
	if c.Lifespan != "" {
		return c.Lifespan
	}
	return "auto"
}

func (c *Config) workers() int { return workers.WorkerCount(c.Workers) }

func (c *Config) timeout() time.Duration { return workers.RequestTimeout(c.Timeout, DefaultTimeout) }

func (c *Config) limitConcurrency() int {
	if c.LimitConcurrency > 0 {
		return c.LimitConcurrency
	}
	return DefaultLimitConcurrency
}

func (c *Config) native() string {
	if c.Native != "" {
		return c.Native
	}
	return NativeAuto
}

func (c *Config) loop() string {
	if c.Loop != "" {
		return c.Loop
	}
	return "auto"
}

// Serve sends the request to the worker and relays the reply as it
// comes, reading the request body as the app asks for it.
func (h *Handler) Serve(w *web.ResponseWriter, r *web.Request) {
	w.Relayed() // the app's answer, from its worker
	if isUpgrade(r) {
		if hs, err := websocket.Parse(r); err != websocket.ErrNotWebSocket {
			h.serveWS(w, r, hs, err)
			return
		}
	}
	c := getCall()
	defer c.release()
	if limit := h.cfg.MaxBody; limit > 0 && r.ContentLength > limit {
		w.SetClose()
		web.Error(w, 413, "request body too large")
		return
	}
	more, err := h.firstChunk(c, r)
	if err != nil {
		if !web.Refuse(w, err) {
			w.SetClose()
		}
		return
	}
	prefix := r.Prefix()
	c.path = web.AppendUnescaped(c.path[:0], prefix)
	c.root = len(c.path)
	c.path = web.AppendUnescaped(c.path, r.Path[len(prefix):])
	c.req, c.more, c.arrival = r, more, r.Start
	w.Detach() // the wait for the worker begins
	c.retain() // the Pool's
	if err := h.sup.Submit(c); err != nil {
		c.release()
		w.SetClose()
		web.Error(w, 503, "the app is not available")
		return
	}
	rl := relay{h: h, w: w, r: r, c: c, ours: w.Header().Len(), bodyDone: !more}
	rl.run()
	r.Note.Dispatched = c.takenAt()
}

// firstChunk reads a small body of known length whole, so that the app
// gets it with the request; more reports whether the body is to be read
// as the app asks (a large or chunked one, or one whose client waits
// for 100 Continue, which the first read would send).
func (h *Handler) firstChunk(c *call, r *web.Request) (more bool, err error) {
	switch {
	case r.Body == nil || r.ContentLength == 0:
		return false, nil
	case r.ContentLength < 0 || r.ContentLength > preread || r.Header.Has("Expect"):
		return true, nil
	}
	n := int(r.ContentLength)
	c.body = slices.Grow(c.body[:0], n)[:n]
	_, err = io.ReadFull(r.Body, c.body)
	return false, err
}

var errTooLarge = &web.ProtocolError{Status: 413, Reason: "request body too large"}

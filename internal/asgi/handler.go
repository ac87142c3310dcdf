package asgi

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"time"

	"nave/internal/web"
)

// Defaults for Config.
const (
	DefaultPython       = "python3"
	DefaultStartTimeout = 30 * time.Second
	DefaultMaxBody      = 16 << 20
)

// Config configures a Handler. Its zero value needs only App.
type Config struct {
	App          string   // "module:callable", imported in Dir
	Python       string   // the interpreter; "" is DefaultPython
	Dir          string   // the worker's folder; "" is nave's
	Env          []string // added to nave's environment for the worker
	StartTimeout time.Duration
	MaxBody      int64 // the largest request body, read whole before the app runs; 413 past it
	Logger       *slog.Logger
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

func (c *Config) maxBody() int64 {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return DefaultMaxBody
}

// Handler is the web.Handler that runs an ASGI app's HTTP requests in one
// worker process.
type Handler struct {
	cfg Config
	log *slog.Logger
	w   *worker
}

// New returns a Handler for cfg; Start starts its worker.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Start starts the worker and waits until the app is imported.
func (h *Handler) Start() error {
	w, err := startWorker(&h.cfg, h.log)
	if err != nil {
		return err
	}
	h.w = w
	h.log.Info("asgi worker ready", "app", h.cfg.App, "pid", w.proc.Pid(), "python", w.python)
	return nil
}

// Pid is the worker's process id.
func (h *Handler) Pid() int { return h.w.proc.Pid() }

// Stop lets the requests in flight finish, then ends the worker; past ctx
// it is killed.
func (h *Handler) Stop(ctx context.Context) error {
	if h.w == nil {
		return nil
	}
	return h.w.stop(ctx)
}

// Serve reads the request body, sends the request to the worker and
// relays the reply as it comes.
func (h *Handler) Serve(w *web.ResponseWriter, r *web.Request) {
	c := getCall()
	defer c.release()
	if err := h.readBody(c, r); err != nil {
		if err == errTooLarge {
			w.SetClose()
			web.Error(w, 413, "request body too large")
			return
		}
		if !web.Refuse(w, err) {
			w.SetClose()
		}
		return
	}
	prefix := r.Prefix()
	c.path = web.AppendUnescaped(c.path[:0], prefix)
	c.root = len(c.path)
	c.path = web.AppendUnescaped(c.path, r.Path[len(prefix):])
	w.Detach() // the wait for the worker begins
	if err := h.w.submit(c, r); err != nil {
		w.SetClose()
		web.Error(w, 503, "the app is not running")
		return
	}
	h.relay(w, r, c)
}

var errTooLarge = &web.ProtocolError{Status: 413, Reason: "request body too large"}

// readBody reads the whole body into c.body, up to the limit.
func (h *Handler) readBody(c *call, r *web.Request) error {
	limit := h.cfg.maxBody()
	switch {
	case r.ContentLength == 0 || r.Body == nil:
		return nil
	case r.ContentLength > limit:
		return errTooLarge
	case r.ContentLength > 0:
		n := int(r.ContentLength)
		c.body = slices.Grow(c.body[:0], n)[:n]
		_, err := io.ReadFull(r.Body, c.body)
		return err
	}
	for {
		if len(c.body) == cap(c.body) {
			c.body = slices.Grow(c.body, 32<<10)
		}
		n, err := r.Body.Read(c.body[len(c.body):cap(c.body)])
		c.body = c.body[:len(c.body)+n]
		if int64(len(c.body)) > limit {
			return errTooLarge
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// relay writes the reply as it comes: each body chunk the app sent with
// more_body is flushed to the client at once.
func (h *Handler) relay(w *web.ResponseWriter, r *web.Request, c *call) {
	ours := w.Header().Len() // fields set before the app's
	for {
		rep := c.take()
		if rep.head != nil {
			if err := addHead(w.Header(), rep.status, rep.head); err != nil {
				h.log.Error("invalid response from the app", "method", string(r.Method), "target", string(r.Target), "err", err)
				w.Header().Truncate(ours)
				h.giveUp(c)
				web.Error(w, 500, "internal server error")
				return
			}
			w.WriteHeader(rep.status)
		}
		if rep.failed {
			h.log.Error("app error", "method", string(r.Method), "target", string(r.Target), "err", rep.reason)
			if !rep.started {
				web.Error(w, 500, "internal server error")
				return
			}
			// The head is the app's: the client can only tell the
			// response failed by the connection closing.
			w.Abort()
			return
		}
		if len(rep.data) > 0 {
			if _, err := w.Write(rep.data); err != nil {
				h.giveUp(c)
				return
			}
		}
		if rep.ended {
			return
		}
		if len(rep.data) > 0 {
			if err := w.Flush(); err != nil {
				h.giveUp(c)
				return
			}
		}
	}
}

// giveUp stops relaying; the app hears http.disconnect.
func (h *Handler) giveUp(c *call) {
	c.abandon()
	h.w.disconnect(c)
}

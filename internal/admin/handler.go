package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"

	"nave/internal/config"
	"nave/internal/web"
)

// MaxBody bounds a request body: a larger config is refused with 413.
const MaxBody = 8 << 20

// Config connects the API to what runs.
type Config struct {
	// Current is the config being served.
	Current func() *config.Config
	// Update applies the config change returns, made from the config being
	// served; no other change comes in between. An error from change is
	// returned as it is; any other error is a config that could not be
	// applied, and the running one serves on.
	Update func(change func(cur *config.Config) (*config.Config, error)) error
	// Load reads and validates a config file; "" is the file nave serves.
	Load func(file string) (*config.Config, error)
	// Status is what GET /status reports, as JSON.
	Status func() any
	// Metrics, when set, serves GET /metrics: the Prometheus exposition.
	Metrics web.Handler
	// Restart starts the named app's workers again with its code read
	// anew, new ones first, and returns once they serve: ErrNoApp for an
	// app the config does not have, a *RestartError when the new ones did
	// not start and the old ones serve on. Nil: no restarts (404).
	Restart func(app string) error
	// Page, when set, serves GET / and HEAD /: the status page, which
	// reads /status.
	Page   web.HandlerFunc
	Logger *slog.Logger
}

// Handler serves the API.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New returns the API's handler.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Problem is one thing wrong with a config, as a response lists it.
type Problem struct {
	Path    string `json:"path,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// reply is every response body but a GET's value.
type reply struct {
	Status   string    `json:"status,omitempty"`
	Error    string    `json:"error,omitempty"`
	Problems []Problem `json:"problems,omitempty"`
}

// failure is a change refused with a status.
type failure struct {
	status int
	reply
}

func (f *failure) Error() string { return f.reply.Error }

func fail(status int, msg string) *failure {
	return &failure{status: status, reply: reply{Error: msg}}
}

// Serve routes a request to its endpoint.
func (h *Handler) Serve(w *web.ResponseWriter, r *web.Request) {
	path, method := string(r.Path), string(r.Method)
	switch {
	case path == "/config" || strings.HasPrefix(path, "/config/"):
		h.config(w, r, method, strings.TrimPrefix(path, "/config"))
	case path == "/load":
		if allow(w, method, "POST") {
			h.load(w, r)
		}
	case path == "/reload":
		if allow(w, method, "POST") {
			h.reload(w, r)
		}
	case path == "/status":
		if allow(w, method, "GET", "HEAD") {
			h.status(w)
		}
	case path == "/metrics" && h.cfg.Metrics != nil:
		if allow(w, method, "GET", "HEAD") {
			h.cfg.Metrics.Serve(w, r)
		}
	case strings.HasPrefix(path, "/apps/") || strings.HasPrefix(path, "/control/applications/"):
		h.restart(w, r, path)
	case path == "/" && h.cfg.Page != nil:
		if allow(w, method, "GET", "HEAD") {
			h.cfg.Page(w, r)
		}
	default:
		h.send(w, nil, fail(404, "no such endpoint: see / (the status page), /config, /load, /reload, /status, /metrics, /apps/NAME/restart"))
	}
}

// allow answers 405 for a method the endpoint does not take.
func allow(w *web.ResponseWriter, method string, methods ...string) bool {
	for _, m := range methods {
		if m == method {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeJSON(w, 405, reply{Error: method + " is not allowed here"})
	return false
}

func (h *Handler) config(w *web.ResponseWriter, r *web.Request, method, path string) {
	segs, err := splitPath(path)
	if err != nil {
		h.send(w, nil, fail(404, err.Error()))
		return
	}
	switch method {
	case "GET", "HEAD":
		h.get(w, segs)
	case "PUT", "PATCH", "DELETE":
		h.edit(w, r, method, segs)
	default:
		allow(w, method, "GET", "HEAD", "PUT", "PATCH", "DELETE")
	}
}

func (h *Handler) get(w *web.ResponseWriter, segs []string) {
	cur := h.cfg.Current()
	tree, err := toTree(cur)
	if err != nil {
		h.send(w, cur, fail(500, "cannot render the config"))
		return
	}
	v, err := get(tree, segs)
	if err != nil {
		h.send(w, cur, fail(404, "no "+strings.Join(segs, "/")+" in the config"))
		return
	}
	w.Header().Set("ETag", ETag(cur))
	writeJSON(w, 200, v)
}

// edit is PUT, PATCH and DELETE: the change is made on the running
// config's tree, which is then parsed and validated as a whole.
func (h *Handler) edit(w *web.ResponseWriter, r *web.Request, method string, segs []string) {
	var body any
	if method != "DELETE" {
		data, f := readBody(r)
		if f != nil {
			h.send(w, nil, f)
			return
		}
		if body, f = parseValue(data); f != nil {
			h.send(w, nil, f)
			return
		}
	}
	h.change(w, r, func(cur *config.Config) (*config.Config, error) {
		tree, err := toTree(cur)
		if err != nil {
			return nil, fail(500, "cannot render the config")
		}
		switch method {
		case "PUT":
			tree, err = put(tree, segs, body)
		case "PATCH":
			old, _ := get(tree, segs)
			if merged := mergePatch(old, body); merged != nil || len(segs) == 0 {
				tree, err = put(tree, segs, merged)
			} else if old != nil {
				tree, err = remove(tree, segs)
			}
		case "DELETE":
			tree, err = remove(tree, segs)
		}
		switch {
		case errors.Is(err, errNotFound):
			return nil, fail(404, "no "+strings.Join(segs, "/")+" in the config")
		case err != nil:
			return nil, fail(400, err.Error())
		}
		data, err := json.Marshal(tree)
		if err != nil {
			return nil, fail(500, "cannot render the config")
		}
		return parse(data, config.JSON, cur.Dir)
	})
}

// load is POST /load: a whole config, TOML when the Content-Type says so
// or the body does not start as a JSON object.
func (h *Handler) load(w *web.ResponseWriter, r *web.Request) {
	data, f := readBody(r)
	if f != nil {
		h.send(w, nil, f)
		return
	}
	format := config.JSON
	ct := string(r.Header.Get("Content-Type"))
	trimmed := strings.TrimLeft(string(data[:min(len(data), 512)]), " \t\r\n")
	if strings.Contains(ct, "toml") || !strings.Contains(ct, "json") && !strings.HasPrefix(trimmed, "{") {
		format = config.TOML
	}
	h.change(w, r, func(cur *config.Config) (*config.Config, error) {
		return parse(data, format, cur.Dir)
	})
}

// reload is POST /reload: the config file read again, or the file the
// body names ({"config": "/etc/nave/nave.toml"}).
func (h *Handler) reload(w *web.ResponseWriter, r *web.Request) {
	data, f := readBody(r)
	if f != nil {
		h.send(w, nil, f)
		return
	}
	var req struct {
		Config string `json:"config"`
	}
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := json.Unmarshal(data, &req); err != nil {
			h.send(w, nil, fail(400, "the body is not {\"config\": \"FILE\"}"))
			return
		}
	}
	h.change(w, r, func(*config.Config) (*config.Config, error) {
		c, err := h.cfg.Load(req.Config)
		if err != nil {
			return nil, invalid(err)
		}
		return c, nil
	})
}

// change applies what make returns, after checking If-Match against the
// running config's ETag, and answers with the new ETag.
func (h *Handler) change(w *web.ResponseWriter, r *web.Request, make func(*config.Config) (*config.Config, error)) {
	var refused error
	var applied *config.Config
	err := h.cfg.Update(func(cur *config.Config) (*config.Config, error) {
		if m := r.Header.Get("If-Match"); m != nil && !matches(string(m), ETag(cur)) {
			refused = fail(412, "the config changed since you read it (If-Match does not name its ETag): read it again")
			return nil, refused
		}
		applied, refused = make(cur)
		return applied, refused
	})
	switch {
	case err == nil:
		h.log.Info("admin API: config applied", "method", string(r.Method), "path", string(r.Path))
		h.send(w, applied, nil)
	case refused != nil && errors.Is(err, refused):
		h.send(w, nil, err)
	default:
		h.log.Warn("admin API: config not applied", "err", err)
		f := invalid(err)
		f.status, f.reply.Error = 422, "the config is valid but could not be applied; the running config serves on"
		h.send(w, nil, f)
	}
}

// parse parses and validates a config; its problems are a 400.
func parse(data []byte, f config.Format, dir string) (*config.Config, error) {
	c, err := config.Parse(data, f, dir)
	if err != nil {
		return nil, invalid(err)
	}
	return c, nil
}

// invalid turns a config's problems into a 400 listing them.
func invalid(err error) *failure {
	f := fail(400, "the config has problems; nothing was applied")
	var l config.List
	if !errors.As(err, &l) {
		f.Problems = []Problem{{Message: err.Error()}}
		return f
	}
	for _, e := range l {
		f.Problems = append(f.Problems, Problem{Path: e.Path, Line: e.Line, Message: e.Msg})
	}
	return f
}

func (h *Handler) status(w *web.ResponseWriter) {
	cur := h.cfg.Current()
	w.Header().Set("ETag", ETag(cur))
	writeJSON(w, 200, h.cfg.Status())
}

// send answers a change: 200 and the new ETag, or the failure.
func (h *Handler) send(w *web.ResponseWriter, applied *config.Config, err error) {
	if err == nil {
		w.Header().Set("ETag", ETag(applied))
		writeJSON(w, 200, reply{Status: "applied"})
		return
	}
	var f *failure
	if !errors.As(err, &f) {
		f = fail(500, err.Error())
	}
	writeJSON(w, f.status, f.reply)
}

// readBody reads a request body of up to MaxBody bytes.
func readBody(r *web.Request) ([]byte, *failure) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	switch {
	case err != nil:
		return nil, fail(400, "cannot read the body")
	case len(data) > MaxBody:
		return nil, fail(413, "the body is larger than 8m")
	}
	return data, nil
}

// parseValue reads a JSON body.
func parseValue(data []byte) (any, *failure) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fail(400, "the body is not JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	return v, nil
}

func writeJSON(w *web.ResponseWriter, status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		web.Error(w, 500, "cannot render the answer")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

// ETag is a config's entity tag: a hash of its JSON, quoted.
func ETag(c *config.Config) string {
	data, _ := json.Marshal(c)
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// matches reports whether an If-Match list names etag, or is "*" (RFC
// 9110 §13.1.1: strong comparison, so a weak tag never matches).
func matches(list, etag string) bool {
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "*" || item == etag {
			return true
		}
	}
	return false
}
